"""``keystead portal``: one-time links into an owner's self-service portal, and
the portal's branding."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._runtime import JsonOption, command, state_of

app = typer.Typer(help="Self-service portal: one-time links for your customers, and branding.")

BRANDING_FIELDS = (
    ("Name", "name"),
    ("Logo URL", "logo_url"),
    ("Accent", "accent"),
    ("Max keys per owner", "max_keys_per_owner"),
    ("Key defaults", "key_defaults"),
)


@command(app, "link")
def link(
    ctx: typer.Context,
    owner_id: Annotated[str, typer.Argument(help="The owner (your customer id) the portal shows.")],
    permission: Annotated[
        list[str] | None,
        typer.Option(
            "--permission",
            help="What the customer may do, e.g. keys.read (repeatable; default: keys.read, "
            "keys.create, keys.update, keys.rotate, keys.revoke, usage.read).",
        ),
    ] = None,
    api: Annotated[
        list[str] | None, typer.Option("--api", help="Show keys of this API only (repeatable).")
    ] = None,
    return_url: Annotated[
        str | None, typer.Option("--return-url", help="Where the portal's back link goes.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Print a one-time link into OWNER_ID's portal (it works once, for a few minutes)."""
    with open_client(state_of(ctx)) as client:
        made = client.create_portal_link(
            owner_id, permissions=permission or None, api_ids=api or None, return_url=return_url
        )

    def render(console: Console) -> None:
        console.print(Text(f"Portal link for {made['owner_id']}", style="bold"))
        console.print(Text(made["url"]), soft_wrap=True)
        console.print(
            Text(
                f"works once, until {made['expires_at']}; give it to that customer only",
                style="yellow",
            )
        )

    out.emit(made, json_out, render)


@command(app, "branding")
def branding(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="The portal's title.")] = None,
    logo_url: Annotated[
        str | None, typer.Option("--logo-url", help="An https URL of your logo.")
    ] = None,
    accent: Annotated[
        str | None, typer.Option("--accent", help="The accent colour, #rrggbb.")
    ] = None,
    max_keys_per_owner: Annotated[
        int | None,
        typer.Option("--max-keys-per-owner", help="Keys one customer may hold via the portal."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Show the portal's branding, or change the fields given."""
    changes = {
        field: value
        for field, value in (
            ("name", name),
            ("logo_url", logo_url),
            ("accent", accent),
            ("max_keys_per_owner", max_keys_per_owner),
        )
        if value is not None
    }
    with open_client(state_of(ctx)) as client:
        shown = client.set_portal_branding(**changes) if changes else client.get_portal_branding()
    title = "Portal branding changed" if changes else "Portal branding"
    out.emit(shown, json_out, lambda c: c.print(out.record(shown, BRANDING_FIELDS, title=title)))
