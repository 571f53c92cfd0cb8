"""``keystead workspaces``: separate tenants of one store (local store only: the
HTTP API is one workspace's, so no route creates or lists them)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._connect import Json
from keystead.cli._machine import open_local_store
from keystead.cli._runtime import JsonOption, command, state_of
from keystead.cli._views import WORKSPACE_COLUMNS

app = typer.Typer(help="Manage workspaces (local store only).")


@command(app, "create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The workspace's name.")],
    json_out: JsonOption = False,
) -> None:
    """Create a workspace and print its first root key, once. Local store only."""
    with open_local_store(state_of(ctx), "keystead workspaces") as local:
        boot = local.run(local.service.workspaces.create(name))
    created: Json = {
        "workspace_id": boot.workspace.id,
        "name": boot.workspace.name,
        "root_key_id": boot.root_key.root_key.id,
        "root_key": boot.root_key.plaintext,
    }

    def render(console: Console) -> None:
        console.print(Text(f"Workspace {created['workspace_id']} ({created['name']}) created."))
        out.reveal(console, "Root key of the new workspace", created["root_key"])
        console.print(Text(f"Local commands act on it with --workspace {created['workspace_id']}."))

    out.emit(created, json_out, render)


@command(app, "list")
def list_workspaces(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the workspaces of the local store. Local store only."""
    from keystead.http.views import iso

    with open_local_store(state_of(ctx), "keystead workspaces") as local:
        found = local.run(local.service.workspaces.list())
    items: list[Json] = [
        {"id": w.id, "name": w.name, "created_at": iso(w.created_at)} for w in found
    ]
    out.emit(
        {"items": items},
        json_out,
        out.show_list(items, WORKSPACE_COLUMNS, title="Workspaces", empty="no workspaces yet"),
    )
