"""The ``keystead`` command line.

Commands work on the local store (``KEYSTEAD_DATABASE_URL``) as the local
operator, or on a Keystead server when ``--url`` / ``KEYSTEAD_URL`` is set,
with the root key from ``KEYSTEAD_ROOT_KEY`` or ``--root-key-file`` (never
from an argument: it would land in shell history). Every command takes
``--json``. Exit codes: 0 ok, 1 error (or an invalid key for ``keys verify``),
2 usage error, 3 store or server unreachable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keystead import __version__
from keystead.cli import (
    alerts,
    analytics,
    apis,
    audit,
    gateway,
    hooks,
    incidents,
    key_actions,
    keys,
    leaks,
    limits,
    master_key,
    owners,
    pickups,
    plans,
    root_keys,
    run,
    scan,
    secret_export,
    secret_lifecycle,
    secrets,
    serve,
    webhooks,
    workspaces,
)
from keystead.cli._runtime import CliState

app = typer.Typer(
    name="keystead",
    help="Self-hosted API key management: issue, verify, limit, rotate and audit API keys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"keystead {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="KEYSTEAD_URL",
            help="Work against this Keystead server instead of the local store.",
            show_default=False,
        ),
    ] = None,
    root_key_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the root key for --url (else KEYSTEAD_ROOT_KEY).",
            dir_okay=False,
        ),
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option(
            envvar="KEYSTEAD_WORKSPACE",
            help="Local store: the workspace to act in (default: the first one).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    ctx.obj = CliState(url=url or None, root_key_file=root_key_file, workspace=workspace or None)


app.add_typer(apis.app, name="apis")
app.add_typer(keys.app, name="keys")
app.add_typer(plans.app, name="plans")
app.add_typer(owners.app, name="owners")
app.add_typer(limits.app, name="limits")
app.add_typer(root_keys.app, name="root-keys")
app.add_typer(workspaces.app, name="workspaces")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(pickups.app, name="pickups")
app.add_typer(incidents.app, name="incidents")
app.add_typer(leaks.app, name="leaks")
app.add_typer(audit.app, name="audit")
app.add_typer(analytics.app, name="analytics")
app.add_typer(alerts.app, name="alerts")
app.add_typer(master_key.app, name="master-key")
app.add_typer(secrets.app, name="secrets")
app.add_typer(hooks.app, name="hooks")
secret_lifecycle.register(secrets.app)  # consumers, rotation show|set|clear
key_actions.register(keys.app)
serve.register(app)
gateway.register(app)
run.register(app)
scan.register(app)
secret_export.register(secrets.app)


def main() -> None:
    app()


__all__ = ["app", "main"]
