"""``keystead root-keys``: the management credentials of a workspace."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._runtime import JsonOption, YesOption, command, confirm, state_of
from keystead.cli._views import ROOT_KEY_COLUMNS

app = typer.Typer(help="Manage root keys: the credentials of the management API.")


@command(app, "create")
def create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="A name for people.")] = None,
    permission: Annotated[
        list[str] | None,
        typer.Option(
            "--permission",
            "-p",
            help="A management permission, e.g. keys.verify or keys.* (repeatable; default: all).",
        ),
    ] = None,
    api: Annotated[
        list[str] | None,
        typer.Option("--api", help="Narrow the key to this API (repeatable)."),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner", help="Narrow the key to this owner's keys and pickups (its automation)."
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Create a root key. It is printed once and never again: store it."""
    with open_client(state_of(ctx)) as client:
        created = client.create_root_key(
            name=name, permissions=permission or ["*"], api_ids=api or None, owner_id=owner
        )

    def render(console: Console) -> None:
        shown = {k: v for k, v in created.items() if k != "key"}
        console.print(out.record(shown, ROOT_KEY_COLUMNS, title="Root key created"))
        out.reveal(console, "Root key", created["key"])

    out.emit(created, json_out, render)


@command(app, "list")
def list_root_keys(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the root keys of the workspace (never their secrets)."""
    with open_client(state_of(ctx)) as client:
        items = client.list_root_keys()
    out.emit(
        {"items": items},
        json_out,
        out.show_list(items, ROOT_KEY_COLUMNS, title="Root keys", empty="no root keys"),
    )


@command(app, "revoke")
def revoke(
    ctx: typer.Context,
    root_key_id: Annotated[str, typer.Argument(help="The root key's id (rk_...).")],
    yes: YesOption = False,
    json_out: JsonOption = False,
) -> None:
    """Revoke a root key for good."""
    confirm(f"Revoke root key {root_key_id} for good", yes=yes, json_mode=json_out)
    with open_client(state_of(ctx)) as client:
        revoked = client.revoke_root_key(root_key_id)
    out.emit(
        revoked,
        json_out,
        lambda c: c.print(f"Revoked root key {revoked['id']}.", markup=False),
    )
