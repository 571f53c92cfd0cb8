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
from keystead.cli._lazy import Lazy, lazy_group
from keystead.cli._runtime import CliState

_CLI = "keystead.cli."
COMMANDS = (
    Lazy(("init", "serve"), _CLI + "serve", group=False),
    Lazy(("gateway",), _CLI + "gateway", group=False),
    Lazy(("backup", "restore"), _CLI + "backup", group=False),
    Lazy(("run",), _CLI + "run", group=False),
    Lazy(("scan",), _CLI + "scan", group=False),
    Lazy(("apis",), _CLI + "apis"),
    Lazy(("keys",), _CLI + "keys", extend=(_CLI + "key_actions",)),
    Lazy(("plans",), _CLI + "plans"),
    Lazy(("owners",), _CLI + "owners"),
    Lazy(("limits",), _CLI + "limits"),
    Lazy(("root-keys",), _CLI + "root_keys"),
    Lazy(("workspaces",), _CLI + "workspaces"),
    Lazy(("webhooks",), _CLI + "webhooks"),
    Lazy(("pickups",), _CLI + "pickups"),
    Lazy(("incidents",), _CLI + "incidents"),
    Lazy(("leaks",), _CLI + "leaks"),
    Lazy(("tokens",), _CLI + "tokens"),
    Lazy(("audit",), _CLI + "audit"),
    Lazy(("analytics",), _CLI + "analytics"),
    Lazy(("alerts",), _CLI + "alerts"),
    Lazy(("portal",), _CLI + "portal"),
    Lazy(("master-key",), _CLI + "master_key"),
    Lazy(("secret",), _CLI + "server_secret"),
    Lazy(
        ("secrets",),
        _CLI + "secrets",
        extend=(_CLI + "secret_lifecycle", _CLI + "secret_export"),  # consumers, rotation, export
    ),
    Lazy(("hooks",), _CLI + "hooks"),
)
"""Every command, in the order ``keystead --help`` lists them; each module is
imported only when one of its commands runs (:mod:`keystead.cli._lazy`)."""

app = typer.Typer(
    name="keystead",
    cls=lazy_group(COMMANDS),
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


def main() -> None:
    app()


__all__ = ["COMMANDS", "app", "main"]
