"""``keystead webhooks``: endpoints that receive the workspace's events, their
deliveries, the dead letter and replay.

A webhook's secret is printed once, by ``create`` and ``rotate-secret``. Events
are delivered by the server (``keystead serve``), not by these commands.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli import _webhook_views as views
from keystead.cli._connect import open_client, run_delete
from keystead.cli._inputs import ChangeSet, duration
from keystead.cli._runtime import JsonOption, UsageProblem, YesOption, command, state_of

app = typer.Typer(
    help="Manage webhooks: endpoints that receive signed events (key.revoked, key.rotated "
    "...), their deliveries, the dead letter and replay."
)

WebhookId = Annotated[str, typer.Argument(help="The webhook's id (wh_...).", show_default=False)]
DeliveryId = Annotated[str, typer.Argument(help="The delivery's id (dlv_...).", show_default=False)]
EventOption = Annotated[
    list[str] | None,
    typer.Option(
        "--event",
        "-e",
        help="An event type to receive, e.g. key.revoked (repeatable; * for all).",
    ),
]
Description = Annotated[str | None, typer.Option(help="A note for people.")]


def _show_created(title: str, created: views.Json) -> None:
    console = out.stdout()
    shown = {k: v for k, v in created.items() if k != "secret"}
    console.print(out.record(shown, views.WEBHOOK_FIELDS, title=title))
    out.reveal(console, "Signing secret", created["secret"])


@command(app, "create")
def create(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(help="Where deliveries are POSTed (http or https).")],
    event: EventOption = None,
    description: Description = None,
    disabled: Annotated[bool, typer.Option(help="Create it disabled.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Create a webhook. Its signing secret is printed once: store it."""
    if not event:
        raise UsageProblem("give at least one --event (or --event '*' for every event)")
    with open_client(state_of(ctx)) as client:
        created = client.create_webhook(url, event, description=description, enabled=not disabled)
    if json_out:
        out.print_json(created)
    else:
        _show_created("Webhook created", created)


@command(app, "list")
def list_webhooks(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the webhooks (never their secrets)."""
    with open_client(state_of(ctx)) as client:
        items = client.list_webhooks()
    out.emit(
        {"items": items},
        json_out,
        out.show_list(
            items, views.WEBHOOK_COLUMNS, title="Webhooks", empty="no webhooks: webhooks create"
        ),
    )


@command(app, "get")
def get(ctx: typer.Context, webhook_id: WebhookId, json_out: JsonOption = False) -> None:
    """Show one webhook."""
    with open_client(state_of(ctx)) as client:
        item = client.get_webhook(webhook_id)
    out.emit(
        item, json_out, lambda c: c.print(out.record(item, views.WEBHOOK_FIELDS, title="Webhook"))
    )


@command(app, "update")
def update(
    ctx: typer.Context,
    webhook_id: WebhookId,
    url: Annotated[str | None, typer.Option(help="New URL.")] = None,
    event: EventOption = None,
    description: Description = None,
    clear_description: Annotated[bool, typer.Option(help="Remove the description.")] = False,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Deliver, or hold deliveries.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Change a webhook: options left out keep their value; --event replaces the list."""
    changes = ChangeSet()
    changes.put("url", url, False)
    changes.put("events", event or None, False, option="--event")
    changes.put("description", description, clear_description)
    changes.put("enabled", enable, False, option="--enable")
    with open_client(state_of(ctx)) as client:
        item = client.update_webhook(webhook_id, changes.require_some())
    out.emit(
        item,
        json_out,
        lambda c: c.print(out.record(item, views.WEBHOOK_FIELDS, title="Webhook updated")),
    )


@command(app, "delete")
def delete(
    ctx: typer.Context, webhook_id: WebhookId, yes: YesOption = False, json_out: JsonOption = False
) -> None:
    """Delete a webhook and its deliveries."""
    run_delete(
        state_of(ctx),
        lambda client: client.delete_webhook(webhook_id),
        prompt=f"Delete webhook {webhook_id} and its deliveries",
        done=f"Deleted webhook {webhook_id}.",
        answer={"id": webhook_id},
        yes=yes,
        json_out=json_out,
    )


@command(app, "rotate-secret")
def rotate_secret(
    ctx: typer.Context,
    webhook_id: WebhookId,
    expire_old_after: Annotated[
        str | None,
        typer.Option(
            help="How long the old secret still signs deliveries, e.g. 12h or 7d; "
            "'now' to drop it at once [default: 1d]."
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Give a webhook a new signing secret (printed once). During the overlap each
    delivery carries a signature by the old secret too."""
    overlap: int | None = None
    if expire_old_after is not None:
        overlap = (
            0
            if expire_old_after.strip().lower() == "now"
            else int(duration(expire_old_after, "--expire-old-after").total_seconds())
        )
    with open_client(state_of(ctx)) as client:
        rotated = client.rotate_webhook_secret(webhook_id, expire_old_after_s=overlap)
    if json_out:
        out.print_json(rotated)
    else:
        _show_created("Secret rotated", rotated)


@command(app, "deliveries")
def deliveries(
    ctx: typer.Context,
    webhook: Annotated[str | None, typer.Option(help="Only this webhook's deliveries.")] = None,
    status: Annotated[
        str | None,
        typer.Option(help="pending, failed, succeeded or dead (dead: the dead letter)."),
    ] = None,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    json_out: JsonOption = False,
) -> None:
    """List deliveries, oldest first."""
    with open_client(state_of(ctx)) as client:
        page = client.list_deliveries(webhook_id=webhook, status=status, cursor=cursor, limit=limit)

    def render(console: Console) -> None:
        rows = [views.delivery_row(item) for item in page["items"]]
        out.show_list(rows, views.DELIVERY_COLUMNS, title="Deliveries", empty="no deliveries")(
            console
        )
        if page.get("next_cursor"):
            out.note(f"more: --cursor {page['next_cursor']}")

    out.emit(page, json_out, render)


@command(app, "delivery")
def delivery(ctx: typer.Context, delivery_id: DeliveryId, json_out: JsonOption = False) -> None:
    """Show one delivery, its payload and every attempt."""
    with open_client(state_of(ctx)) as client:
        item = client.get_delivery(delivery_id)

    def render(console: Console) -> None:
        console.print(out.record(views.delivery_row(item), views.DELIVERY_FIELDS, title="Delivery"))
        attempts = [views.attempt_row(a) for a in item.get("attempts", [])]
        out.show_list(attempts, views.ATTEMPT_COLUMNS, title="Attempts", empty="no attempts yet")(
            console
        )

    out.emit(item, json_out, render)


@command(app, "replay")
def replay(ctx: typer.Context, delivery_id: DeliveryId, json_out: JsonOption = False) -> None:
    """Send a failed, dead or succeeded delivery again, with a fresh attempt budget."""
    with open_client(state_of(ctx)) as client:
        item = client.replay_delivery(delivery_id)
    out.emit(
        item,
        json_out,
        lambda c: c.print(Text(f"Delivery {item['id']} queued again.")),
    )


__all__ = ["app"]
