"""``keystead keys act | actions | compromise``: acting on a key because of an
event, its record, and the compromise procedure. Registered onto the ``keys``
group by :func:`register`, so the commands live apart from ``cli/keys.py``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, YesOption, command, confirm, state_of

KeyId = Annotated[str, typer.Argument(help="The key's id (key_...), not the key itself.")]
ACTION_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Action", "action"),
    ("Source", "source"),
    ("Reason", "reason"),
    ("Actor", "actor"),
    ("When", "created_at"),
]
ACTION_FIELDS: list[Column] = [
    ("ID", "id"),
    ("Key", "key_id"),
    ("Action", "action"),
    ("Source", "source"),
    ("Reason", "reason"),
    ("Reference", "reference"),
    ("Key state", "state"),
    ("New key", "new_key_id"),
    ("Pickup", "pickup_id"),
    ("Old key until", "grace_ends_at"),
]


class Action(StrEnum):
    disable = "disable"
    rotate = "rotate"
    emergency_rotate = "emergency_rotate"
    revoke = "revoke"


def act(
    ctx: typer.Context,
    key_id: KeyId,
    action: Annotated[Action, typer.Option(help="What to do to the key.")],
    source: Annotated[str, typer.Option(help="What triggered it: alert, leak_report ...")],
    reason: Annotated[str, typer.Option(help="Why, for people.")],
    reference: Annotated[
        str | None, typer.Option(help="The source's id of it (an alert id, a URL).")
    ] = None,
    grace: Annotated[
        int | None,
        typer.Option(min=0, help="rotate only: seconds the old key keeps working."),
    ] = None,
    yes: YesOption = False,
    json_out: JsonOption = False,
) -> None:
    """Act on a key because of an event (recorded with its cause).

    disable, rotate, emergency_rotate or revoke. A rotation's new key goes to a
    pickup (keystead pickups) or, with an owner public key, to a JWE for the owner."""
    if action in (Action.revoke, Action.emergency_rotate):
        confirm(f"{action.value} key {key_id} now", yes=yes, json_mode=json_out)
    with open_client(state_of(ctx)) as client:
        done = client.act_on_key(
            key_id,
            action.value,
            source=source,
            reason=reason,
            reference=reference,
            grace_period_s=grace,
        )
    out.emit(
        done, json_out, lambda c: c.print(out.record(_flat(done), ACTION_FIELDS, title="Done"))
    )


def actions(
    ctx: typer.Context,
    key_id: KeyId,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="Continue after this page.")] = None,
    json_out: JsonOption = False,
) -> None:
    """List the actions recorded for a key, oldest first."""
    with open_client(state_of(ctx)) as client:
        page = client.list_key_actions(key_id, cursor=cursor, limit=limit)

    def render(console: Console) -> None:
        rows = [_flat(item) for item in page["items"]]
        out.show_list(rows, ACTION_COLUMNS, title=f"Actions on {key_id}", empty="no actions")(
            console
        )
        if page.get("next_cursor"):
            out.note(f"more actions: --cursor {page['next_cursor']}")

    out.emit(page, json_out, render)


def compromise(
    ctx: typer.Context,
    key_id: KeyId,
    replace: Annotated[
        bool, typer.Option("--replace", help="Issue a replacement now (shown once).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="What is known of the compromise.")] = None,
    notify: Annotated[bool, typer.Option(help="Send key.compromised to the webhooks.")] = True,
    yes: YesOption = False,
    json_out: JsonOption = False,
) -> None:
    """Report a key compromised: revoke, replace, notify, open an incident.

    The key is revoked at once; --replace prints its replacement once; the
    key.compromised event goes to the webhooks; the incident keeps the evidence."""
    confirm(f"Revoke key {key_id} as compromised", yes=yes, json_mode=json_out)
    with open_client(state_of(ctx)) as client:
        done = client.compromise_key(key_id, replace=replace, reason=reason, notify=notify)
    out.emit(done, json_out, lambda c: _report(c, done))


def _report(console: Console, done: Json) -> None:
    """What the procedure did, one line each; the replacement key once, last."""
    said = "was revoked already" if done.get("already_revoked") else "revoked now"
    console.print(Text(f"Key {done['key_id']}: {said}."))
    console.print(Text(f"Incident {done['incident_id']} opened (keystead incidents show)."))
    sent = "key.compromised queued for the webhooks" if done.get("notified") else "nobody notified"
    console.print(Text(f"Notified: {sent}."))
    replacement = done.get("replacement")
    if isinstance(replacement, dict):
        console.print(Text(f"Replacement key {replacement['key_id']} issued."))
        out.reveal(console, "Replacement key", replacement["key"])


def _flat(item: Json) -> Json:
    """An action with its cause and result fields lifted for display."""
    cause = item.get("cause") if isinstance(item.get("cause"), dict) else {}
    result = item.get("result") if isinstance(item.get("result"), dict) else {}
    return {**(result or {}), **(cause or {}), **item}


def register(app: typer.Typer) -> None:
    """Add ``act``, ``actions`` and ``compromise`` to the ``keys`` group."""
    command(app, "act")(act)
    command(app, "actions")(actions)
    command(app, "compromise")(compromise)


__all__ = ["act", "actions", "compromise", "register"]
