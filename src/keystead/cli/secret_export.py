"""``keystead secrets export``: resolved secrets for CI, as dotenv, JSON or shell.

    keystead secrets export --path secret/ci --format shell > "$RUNNER_TEMP/env"
    eval "$(keystead secrets export --env-file .env --format shell)"
    keystead secrets export --env-file .env --output .env.ci   # written 0600

The sources are those of ``keystead run`` (``--path``, ``--env-file``, ``--map``).
Without ``--output`` the variables go to stdout. With it, the file is replaced
whole, created 0600 (and made 0600 if it existed), and a warning goes to stderr
when git tracks it, or when it lies in a git work tree without being ignored.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._consume_options import EnvFileOption, MapOption, PathOption
from keystead.cli._runtime import JsonOption, UsageProblem, command, state_of
from keystead.consume.formats import FORMATS, Format, render
from keystead.consume.gitcheck import git_exposure
from keystead.consume.plan import build_plan, resolve
from keystead.consume.remote import client_reader, identify

_EXPOSURE = {
    "tracked": "{file} is tracked by git: the secrets written to it would be committed",
    "not ignored": "{file} is in a git work tree and not ignored: add it to .gitignore "
    "before the secrets written to it are committed",
}


def register(group: typer.Typer) -> None:
    """Add ``export`` to the ``keystead secrets`` group."""
    command(group, "export")(export)


def export(
    ctx: typer.Context,
    path: PathOption = None,
    env_file: EnvFileOption = None,
    map_: MapOption = None,
    format: Annotated[
        str,
        typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)}."),
    ] = "dotenv",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file (0600) instead of stdout.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Print (or write) resolved secrets as dotenv, JSON or shell export lines."""
    if format not in FORMATS:
        raise UsageProblem(f"--format is one of {', '.join(FORMATS)}, not {format!r}")
    chosen: Format = format
    plan = build_plan(path or [], env_file or [], map_ or [])
    if plan.empty:
        raise UsageProblem("nothing to export: give --path, --env-file or --map")
    with open_client(state_of(ctx)) as client:
        identify(client, "keystead-export")
        resolved = resolve(plan, client_reader(client))
    text = render(resolved.env, chosen)
    if output is None:
        typer.echo(text, nl=False)
        return
    exposure = git_exposure(output)
    if exposure is not None:
        out.warn(_EXPOSURE[exposure].format(file=output))
    write_private(output, text)
    summary = {"output": str(output), "format": chosen, "variables": list(resolved.env)}
    out.emit(
        summary,
        json_out,
        lambda _c: out.note(f"wrote {len(resolved.env)} variables to {output} ({chosen}, 0600)"),
    )


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only: a 0600 file
    beside it, renamed over it (no moment where the values sit in a wider file)."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise UsageProblem(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: 0600 already
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise UsageProblem(f"cannot write {path}: {exc.strerror}") from None


__all__ = ["export", "register", "write_private"]
