"""``keystead master-key``: the master key that wraps encrypted data (local store
only: it acts on this machine's key material, which no HTTP route touches)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import Json
from keystead.cli._machine import open_local_store
from keystead.cli._runtime import JsonOption, command, state_of

app = typer.Typer(
    help="The master key that wraps encrypted data: status and rotation "
    "(local store only; docs/secrets.md)."
)

FIELDS = [
    ("URL", "url"),
    ("Present", "present"),
    ("Read-only", "read_only"),
    ("Current version", "current_version"),
    ("Versions", "versions"),
    ("Recorded by the store", "checked"),
    ("Store check under version", "check_version"),
]


@command(app, "status")
def status(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Where the master key lives, its versions and the current one. Local store only."""
    with open_local_store(state_of(ctx), "keystead master-key status") as local:
        found = local.run(local.service.master_keys.status())
    shown: Json = dataclasses.asdict(found)
    out.emit(shown, json_out, _render(shown, "Master key"))


@command(app, "rotate")
def rotate(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Add a master-key version, used from now on. Local store only.

    Older versions still decrypt. A file:// key is rewritten in place: processes
    using that file pick the new version up on their next use."""
    with open_local_store(state_of(ctx), "keystead master-key rotate") as local:
        found = local.run(local.service.master_keys.rotate())
    shown: Json = dataclasses.asdict(found)
    out.emit(
        shown, json_out, _render(shown, f"Master key rotated to version {found.current_version}")
    )


def _render(shown: Json, title: str) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        listed = {**shown, "versions": ", ".join(str(v) for v in shown["versions"]) or "none"}
        console.print(out.record(listed, FIELDS, title=title))

    return render


__all__ = ["app"]
