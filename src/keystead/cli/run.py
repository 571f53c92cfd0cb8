"""``keystead run``: start a command with secrets in its environment.

    keystead run --path secret/payments -- ./server --port 8000
    keystead run --env-file .env -- pytest
    keystead run --map STRIPE_KEY=secret/payments#stripe_key --watch -- ./worker

The values are read through the SDK (the local store, or the server of ``--url``)
and exist only in the child's environment: nothing is written to disk. The
child's stdout and stderr are masked (``--no-masking``: left alone), signals are
forwarded, and its exit status is ``keystead run``'s (128 + n for a death by signal
n; 127 when the command is not found, 126 when it cannot be executed). Before the
command starts, Keystead's own errors exit 1, 2 or 3 as every command does.
"""

from __future__ import annotations

from typing import Annotated

import typer

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._consume_options import EnvFileOption, MapOption, PathOption
from keystead.cli._runtime import UsageProblem, guarded, state_of
from keystead.client import ClientError
from keystead.consume.child import CommandNotStarted, Signals
from keystead.consume.plan import build_plan, resolve
from keystead.consume.remote import client_reader, identify, open_watcher
from keystead.consume.supervise import supervise
from keystead.errors import KeysteadError

_COMMAND_LINE = {"allow_interspersed_args": False, "ignore_unknown_options": True}


def register(app: typer.Typer) -> None:
    app.command("run", context_settings=_COMMAND_LINE)(guarded(run))


def run(
    ctx: typer.Context,
    command: Annotated[
        list[str] | None,
        typer.Argument(help="The command and its arguments, after --.", show_default=False),
    ] = None,
    path: PathOption = None,
    env_file: EnvFileOption = None,
    map_: MapOption = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Restart the command when one of its secrets changes (the server's change "
            "stream; the local store is checked every second).",
        ),
    ] = False,
    no_masking: Annotated[
        bool,
        typer.Option(
            "--no-masking",
            help="Leave the command's stdout and stderr alone (by default every secret "
            "value of 4 characters or more is shown as *****).",
        ),
    ] = False,
) -> None:
    """Run a command with secrets in its environment: keystead run --path secret/app -- cmd."""
    if not command:
        raise UsageProblem(
            "give the command after --, e.g. keystead run --path secret/app -- ./server"
        )
    plan = build_plan(path or [], env_file or [], map_ or [])
    if plan.empty:
        raise UsageProblem("nothing to put in the environment: give --path, --env-file or --map")
    state = state_of(ctx)
    remote = state.server_url() is not None

    def notify(message: str) -> None:
        out.note(f"keystead run: {message}")

    with Signals() as signals, open_client(state) as client:
        identify(client, "keystead-run")
        read = client_reader(client)
        watcher = None
        if watch:
            watcher = open_watcher(client, plan.addresses(), remote=remote, notify=notify)
        try:
            status = supervise(
                command,
                lambda: resolve(plan, read),
                masking=not no_masking,
                watcher=watcher,
                notify=notify,
                refresh_failed=(ClientError, KeysteadError),
                signals=signals,
            )
        except CommandNotStarted as exc:
            out.error(exc.message)
            raise typer.Exit(exc.status) from None
        finally:
            if watcher is not None:
                watcher.close()
    raise typer.Exit(status)


__all__ = ["register", "run"]
