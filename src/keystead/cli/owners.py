"""``keystead owners``: limits shared by every key of one owner (your customer id)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import open_client, run_delete
from keystead.cli._inputs import json_object
from keystead.cli._limitopts import (
    ConcurrencyOption,
    CreditsOption,
    QuotaOption,
    RatelimitOption,
    given_limits,
)
from keystead.cli._runtime import JsonOption, UsageProblem, YesOption, command, state_of
from keystead.cli._views import OWNER_COLUMNS, OWNER_FIELDS, limited_view, with_summary

app = typer.Typer(
    help="Manage owner limits: counters shared by every key with the same --owner "
    "(on top of each key's own limits)."
)

OwnerId = Annotated[
    str, typer.Argument(help="The owner id, as given to keys create --owner.", show_default=False)
]


@command(app, "set")
def set_owner(
    ctx: typer.Context,
    owner_id: OwnerId,
    ratelimit: RatelimitOption = None,
    quota: QuotaOption = None,
    credits: CreditsOption = None,
    concurrency: ConcurrencyOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set the owner's limits, replacing any set before (limits left out are removed)."""
    limits = given_limits(ratelimit, quota, credits, concurrency)
    if not limits:
        raise UsageProblem(
            "give at least one of --ratelimit, --quota, --credits, --concurrency "
            "(to remove them all: keystead owners delete)"
        )
    with open_client(state_of(ctx)) as client:
        owner = client.put_owner(owner_id, **limits)
    out.emit(owner, json_out, lambda c: limited_view(c, owner, OWNER_FIELDS, "Owner limits set"))


@command(app, "list")
def list_owners(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the owners that have limits."""
    with open_client(state_of(ctx)) as client:
        items = client.list_owners()
    out.emit(
        {"items": items},
        json_out,
        out.show_list(
            with_summary(items), OWNER_COLUMNS, title="Owners", empty="no owner has limits"
        ),
    )


@command(app, "show")
def show(ctx: typer.Context, owner_id: OwnerId, json_out: JsonOption = False) -> None:
    """Show an owner's limits."""
    with open_client(state_of(ctx)) as client:
        owner = client.get_owner(owner_id)

    def render(console: Console) -> None:
        limited_view(console, owner, OWNER_FIELDS, f"Owner {owner.get('owner_id')}")

    out.emit(owner, json_out, render)


@command(app, "set-public-key")
def set_public_key(
    ctx: typer.Context,
    owner_id: OwnerId,
    jwk_file: Annotated[
        Path,
        typer.Option(
            "--jwk-file",
            help="The owner's PUBLIC key as a JWK (EC P-256/384/521 or OKP X25519).",
            dir_okay=False,
        ),
    ],
    json_out: JsonOption = False,
) -> None:
    """Register the owner's public key (a JWK file).

    Keys rotated with nobody present are then encrypted to it: a JWE only the
    owner's private key opens."""
    jwk = json_object(f"@{jwk_file}", "--jwk-file", allow_file=True)
    with open_client(state_of(ctx)) as client:
        owner = client.set_owner_public_key(owner_id, jwk)
    out.emit(owner, json_out, lambda c: _public_key_view(c, owner, "Public key set"))


@command(app, "remove-public-key")
def remove_public_key(ctx: typer.Context, owner_id: OwnerId, json_out: JsonOption = False) -> None:
    """Forget the owner's public key: later pickups are sealed by the server instead."""
    with open_client(state_of(ctx)) as client:
        owner = client.remove_owner_public_key(owner_id)
    out.emit(owner, json_out, lambda c: _public_key_view(c, owner, "Public key removed"))


def _public_key_view(console: Console, owner: dict[str, object], title: str) -> None:
    fields = [("Owner", "owner_id"), ("Public key", "public_jwk")]
    console.print(out.record(owner, fields, title=title))


@command(app, "delete")
def delete(
    ctx: typer.Context, owner_id: OwnerId, yes: YesOption = False, json_out: JsonOption = False
) -> None:
    """Remove an owner's limits (its keys keep their own)."""
    run_delete(
        state_of(ctx),
        lambda client: client.delete_owner(owner_id),
        prompt=f"Remove the limits of owner {owner_id}",
        done=f"Removed the limits of owner {owner_id}.",
        answer={"owner_id": owner_id},
        yes=yes,
        json_out=json_out,
    )
