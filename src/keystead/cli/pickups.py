"""``keystead pickups``: rotated keys held for their owners, fetched once.

A pickup of an owner's key is claimed with a root key narrowed to that owner
(``keystead root-keys create --owner OWNER``, used with ``--url``); a pickup of
a key without an owner, with a workspace-wide root key or locally.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, command, state_of

app = typer.Typer(help="Fetch keys rotated with nobody present: each pickup is handed out once.")

PICKUP_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Key", "key_id"),
    ("Owner", "owner_id"),
    ("Format", "format"),
    ("State", "state"),
    ("Expires", "expires_at"),
]
CLAIM_FIELDS: list[Column] = [("Pickup", "pickup_id"), ("Key ID", "key_id"), ("Format", "format")]


@command(app, "list")
def list_pickups(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="Continue after this page.")] = None,
    json_out: JsonOption = False,
) -> None:
    """List pickups (metadata only: never a key)."""
    with open_client(state_of(ctx)) as client:
        page = client.list_pickups(cursor=cursor, limit=limit)
    items = page["items"]

    def render(console: Console) -> None:
        out.show_list(items, PICKUP_COLUMNS, title="Pickups", empty="no pickups")(console)
        if page.get("next_cursor"):
            out.note(f"more pickups: --cursor {page['next_cursor']}")

    out.emit(page, json_out, render)


@command(app, "claim")
def claim(
    ctx: typer.Context,
    pickup_id: Annotated[str, typer.Argument(help="The pickup's id (pck_...).")],
    json_out: JsonOption = False,
) -> None:
    """Claim a pickup: print its key (or JWE) once.

    sealed: the key itself; jwe: a JWE the owner's private key opens. A second
    claim fails: store what this prints."""
    with open_client(state_of(ctx)) as client:
        claimed = client.claim_pickup(pickup_id)

    def render(console: Console) -> None:
        console.print(out.record(claimed, CLAIM_FIELDS, title="Pickup claimed"))
        if claimed.get("key"):
            out.reveal(console, "Key", claimed["key"])
        elif claimed.get("jwe"):
            console.print(Text("JWE (decrypt with the owner's private key):", style="bold"))
            console.print(Text(claimed["jwe"]), soft_wrap=True)
            console.print(Text(out.ONCE_WARNING, style="yellow"))

    out.emit(claimed, json_out, render)


__all__ = ["app"]
