"""``keystead workspaces``: separate tenants of one store (local store only)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._backend import open_backend
from keystead.cli._runtime import JsonOption, command, state_of
from keystead.cli._views import WORKSPACE_COLUMNS

app = typer.Typer(help="Manage workspaces (on the local store).")


@command(app, "create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The workspace's name.")],
    json_out: JsonOption = False,
) -> None:
    """Create a workspace and print its first root key, once."""
    state = state_of(ctx)
    state.require_local("keystead workspaces")
    with open_backend(state) as backend:
        created = backend.create_workspace(name)

    def render(console: Console) -> None:
        console.print(Text(f"Workspace {created['workspace_id']} ({created['name']}) created."))
        out.reveal(console, "Root key of the new workspace", created["root_key"])
        console.print(Text(f"Local commands act on it with --workspace {created['workspace_id']}."))

    out.emit(created, json_out, render)


@command(app, "list")
def list_workspaces(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the workspaces of the local store."""
    state = state_of(ctx)
    state.require_local("keystead workspaces")
    with open_backend(state) as backend:
        items = backend.list_workspaces()
    out.emit(
        {"items": items},
        json_out,
        out.show_list(items, WORKSPACE_COLUMNS, title="Workspaces", empty="no workspaces yet"),
    )
