"""``keystead backup`` and ``keystead restore``: the local store to an encrypted
file and back, into an empty store of any kind (docs/operations.md).

Local store only (``KEYSTEAD_DATABASE_URL``), run on the server's host: a backup
is as large as the store, and it needs the store's server secret and master key,
which never travel over the API. A passphrase is never an argument: it comes
from ``--passphrase-file``, ``KEYSTEAD_BACKUP_PASSPHRASE`` or a prompt."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from keystead.cli import _output as out
from keystead.cli._connect import Json
from keystead.cli._runtime import (
    CliState,
    JsonOption,
    UsageProblem,
    command,
    interactive,
    quiet_service_logs,
    state_of,
)

PASSPHRASE_ENV = "KEYSTEAD_BACKUP_PASSPHRASE"  # noqa: S105 - a variable's name
FIELDS = [
    ("File", "path"),
    ("Store", "database"),
    ("Scope", "scope"),
    ("Workspace", "workspace_id"),
    ("Schema revision", "revision"),
    ("Encrypted under", "encryption"),
    ("Raw usage records", "with_usage"),
    ("Taken at", "created_at"),
    ("Rows", "rows"),
    ("Bytes", "bytes"),
]
TABLES = [("Table", "table"), ("Rows", "rows")]

FileArgument = Annotated[Path, typer.Argument(help="The backup file.", dir_okay=False)]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        help=f"Read the passphrase from this file (else {PASSPHRASE_ENV}, or --passphrase).",
        dir_okay=False,
        show_default=False,
    ),
]
AskPassphrase = Annotated[
    bool,
    typer.Option("--passphrase", help="Ask for the passphrase at a prompt that does not echo."),
]


def _passphrase(path: Path | None, ask: bool, *, confirm: bool) -> str | None:
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"cannot read the passphrase file {path}: {exc}") from None
        text = text.removesuffix("\n")
    elif ask:
        if not interactive():
            raise UsageProblem(
                f"--passphrase asks at a prompt, which needs a terminal; use --passphrase-file "
                f"or {PASSPHRASE_ENV}"
            )
        text = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    else:
        return os.environ.get(PASSPHRASE_ENV) or None
    if not text:
        raise UsageProblem("the passphrase is empty")
    return text


def _bar(json_out: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out.stderr(),
        disable=json_out,
        transient=True,
    )


def _tracking(bar: Progress) -> tuple[Callable[[dict[str, int]], None], Callable[[str, int], None]]:
    task = bar.add_task("reading", total=None)

    def totals(counts: dict[str, int]) -> None:
        bar.update(task, total=sum(counts.values()))

    def advance(table: str, rows: int) -> None:
        bar.update(task, advance=rows, description=table)

    return totals, advance


def register(app: typer.Typer) -> None:
    command(app, "backup")(backup)
    command(app, "restore")(restore)


def _local(state: CliState, what: str) -> None:
    state.require_local(what)
    quiet_service_logs()


def backup(
    ctx: typer.Context,
    file: FileArgument,
    workspace_id: Annotated[
        str | None,
        typer.Option(
            "--workspace-id", help="Back up this workspace only (default: the whole store)."
        ),
    ] = None,
    with_usage: Annotated[
        bool, typer.Option("--with-usage", help="Include raw usage records (rollups always are).")
    ] = False,
    passphrase_file: PassphraseFile = None,
    ask: AskPassphrase = False,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Back up the store, or one workspace, to an encrypted FILE.

    A consistent snapshot, taken while the server runs. Local store only.
    Encrypted under the master key, or under a passphrase for copies kept
    elsewhere (the values sealed under the master key stay sealed either way).
    Restoring needs the same server secret and master key."""
    from keystead.service.backup import backup as run_backup

    state = state_of(ctx)
    _local(state, "keystead backup")
    if file.exists() and not force:
        raise UsageProblem(f"{file} exists: give another name, or --force to replace it")
    passphrase = _passphrase(passphrase_file, ask, confirm=True)
    with _bar(json_out) as bar:
        totals, advance = _tracking(bar)
        summary = asyncio.run(
            run_backup(
                state.settings(),
                file,
                workspace_id=workspace_id,
                passphrase=passphrase,
                with_usage=with_usage,
                progress=advance,
                totals=totals,
            )
        )
    shown: Json = dataclasses.asdict(summary)
    out.emit(shown, json_out, _render(shown, f"Backup written to {file}"))


def restore(
    ctx: typer.Context,
    file: FileArgument,
    passphrase_file: PassphraseFile = None,
    ask: AskPassphrase = False,
    json_out: JsonOption = False,
) -> None:
    """Restore FILE into the local store, which must be empty.

    Any kind of store (SQLite, PostgreSQL...), whatever the kind backed up.
    Local store only. All or nothing: on any error (a wrong key, a damaged
    file) the store is left as it was. Needs the server secret and master key
    of the store backed up."""
    from keystead.service.backup import restore as run_restore

    state = state_of(ctx)
    _local(state, "keystead restore")
    passphrase = _passphrase(passphrase_file, ask, confirm=False)
    with _bar(json_out) as bar:
        totals, advance = _tracking(bar)
        summary = asyncio.run(
            run_restore(
                state.settings(), file, passphrase=passphrase, progress=advance, totals=totals
            )
        )
    shown: Json = dataclasses.asdict(summary)
    out.emit(shown, json_out, _render(shown, f"Restored {file}"))


def _render(shown: Json, title: str) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        console.print(out.record(shown, FIELDS, title=title))
        rows = [{"table": name, "rows": n} for name, n in shown["tables"].items() if n]
        if rows:
            console.print(out.table(rows, TABLES, title="Rows per table"))

    return render


__all__ = ["PASSPHRASE_ENV", "register"]
