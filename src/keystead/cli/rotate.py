"""``keystead keys rotate``: one key (with a grace period), or every key a policy says is due."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._inputs import duration, timestamp
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, UsageProblem, command, state_of
from keystead.cli._views import key_panel

_DUE_COLUMNS: list[Column] = [
    ("Key", "key_id"),
    ("Start", "start"),
    ("Owner", "owner_id"),
    ("Due", "due_at"),
    ("New key", "new_key_id"),
    ("Pickup", "pickup_id"),
]


def rotate(
    ctx: typer.Context,
    key_id: Annotated[
        str | None, typer.Argument(help="The key's id (key_...); omit it with --due.")
    ] = None,
    grace: Annotated[
        str | None,
        typer.Option(help="How long the old key keeps working: 1h, 7d... or 0 (emergency)."),
    ] = None,
    old_expires_at: Annotated[
        str | None, typer.Option(help="When the old key stops working (ISO 8601), instead.")
    ] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Rotate every key whose rotation policy says so.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --due: list what would rotate, change nothing.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Rotate a key: a successor now (printed once), the old key until its grace ends.

    With --due, rotate every key whose policy says it is due; their successors go
    to pickups for their owners (and to owners' public keys), never to this output."""
    if due:
        if key_id is not None or grace is not None or old_expires_at is not None:
            raise UsageProblem(
                "--due rotates by policy: give no key id, --grace or --old-expires-at"
            )
        with open_client(state_of(ctx)) as client:
            answer = client.rotate_due(dry_run=dry_run)
        title = "Due for rotation" if dry_run else "Rotated by policy"
        out.emit(answer, json_out, lambda c: _due_table(c, answer["items"], title))
        return
    if dry_run:
        raise UsageProblem("--dry-run goes with --due")
    if key_id is None:
        raise UsageProblem("name the key to rotate, or use --due")
    if grace is not None and old_expires_at is not None:
        raise UsageProblem("give --grace or --old-expires-at, not both")
    grace_s = None
    if grace is not None:
        grace_s = 0 if grace.strip() == "0" else int(duration(grace, "--grace").total_seconds())
    until = None if old_expires_at is None else timestamp(old_expires_at, "--old-expires-at")
    with open_client(state_of(ctx)) as client:
        rotated = client.rotate_key(key_id, grace_period_s=grace_s, old_expires_at=until)

    def render(console: Console) -> None:
        shown = {k: v for k, v in rotated.items() if k not in ("key", "old_key", "grace_ends_at")}
        console.print(key_panel(shown, "Key rotated: the successor"))
        console.print(f"The old key {key_id} works until {rotated['grace_ends_at']}.", markup=False)
        out.reveal(console, "New key", rotated["key"])

    out.emit(rotated, json_out, render)


def _due_table(console: Console, items: list[dict[str, object]], title: str) -> None:
    if not items:
        console.print("No key is due for rotation.")
        return
    console.print(out.table(items, _DUE_COLUMNS, title=title))


def register(app: typer.Typer) -> None:
    command(app, "rotate")(rotate)


__all__ = ["register"]
