"""``keystead keys``: issue, inspect, change, revoke and verify API keys."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._backend import Json, open_backend
from keystead.cli._inputs import (
    ChangeSet,
    expiry,
    json_object,
    optional_json_object,
    secret_argument,
    timestamp,
)
from keystead.cli._runtime import JsonOption, UsageProblem, YesOption, command, confirm, state_of
from keystead.cli._views import KEY_COLUMNS, key_panel

app = typer.Typer(help="Manage API keys: create, list, show, update, revoke, verify.")


class State(StrEnum):
    active = "active"
    disabled = "disabled"
    revoked = "revoked"
    expired = "expired"
    pending = "pending"


KeyId = Annotated[str, typer.Argument(help="The key's id (key_...), not the key itself.")]
Permissions = Annotated[
    list[str] | None,
    typer.Option("--permission", "-p", help="A permission, e.g. documents.read (repeatable)."),
]
Roles = Annotated[
    list[str] | None, typer.Option("--role", "-r", help="A role of the API (repeatable).")
]


@command(app, "create")
def create(
    ctx: typer.Context,
    api: Annotated[str, typer.Option("--api", help="The id of the API the key belongs to.")],
    name: Annotated[str | None, typer.Option(help="A name for people.")] = None,
    owner: Annotated[str | None, typer.Option(help="Your id of the key's owner.")] = None,
    meta: Annotated[
        str | None, typer.Option(help="JSON object (or @file) returned by verify.")
    ] = None,
    permission: Permissions = None,
    role: Roles = None,
    environment: Annotated[
        str | None, typer.Option(help="a-z0-9, appended to the prefix (e.g. test).")
    ] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601 date-time.")] = None,
    expires_in: Annotated[str | None, typer.Option(help="Duration: 30d, 12h, 15m...")] = None,
    not_before: Annotated[str | None, typer.Option(help="ISO 8601 date-time.")] = None,
    restrictions: Annotated[
        str | None,
        typer.Option(help="JSON object or @file: ips, countries, referrers, methods..."),
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    count: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Create this many alike keys (JSON: {items})."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Create a key. The key is printed once and never again: store it."""
    spec: Json = {"api_id": api}
    optional = {"name": name, "owner_id": owner, "environment": environment}
    spec.update({k: v for k, v in optional.items() if v is not None})
    if meta is not None:
        spec["meta"] = json_object(meta, "--meta", allow_file=True)
    if restrictions is not None:
        spec["restrictions"] = json_object(restrictions, "--restrictions", allow_file=True)
    if permission:
        spec["permissions"] = permission
    if role:
        spec["roles"] = role
    expires = expiry(expires_at, expires_in)
    if expires is not None:
        spec["expires_at"] = expires
    if not_before is not None:
        spec["not_before"] = timestamp(not_before, "--not-before")
    if disabled:
        spec["enabled"] = False
    with open_backend(state_of(ctx)) as backend:
        created = backend.create_keys([dict(spec) for _ in range(count or 1)])
    if count is None:
        key = created[0]

        def render_one(console: Console) -> None:
            console.print(key_panel({k: v for k, v in key.items() if k != "key"}, "Key created"))
            out.reveal(console, "Key", key["key"])

        out.emit(key, json_out, render_one)
        return

    out.emit({"items": created}, json_out, lambda c: out.reveal_many(c, created))


@command(app, "list")
def list_keys(
    ctx: typer.Context,
    api: Annotated[str | None, typer.Option("--api", help="Only keys of this API.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only keys of this owner.")] = None,
    state: Annotated[State | None, typer.Option(help="Only keys in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="Continue after this page.")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Fetch every page.")] = False,
    json_out: JsonOption = False,
) -> None:
    """List keys, newest last, a page at a time (or --all)."""
    items: list[Json] = []
    next_cursor = cursor
    with open_backend(state_of(ctx)) as backend:
        while True:
            page = backend.list_keys(
                api_id=api,
                owner_id=owner,
                state=None if state is None else state.value,
                cursor=next_cursor,
                limit=limit,
            )
            items.extend(page["items"])
            next_cursor = page.get("next_cursor")
            if not all_pages or not next_cursor:
                break

    def render(console: Console) -> None:
        out.show_list(items, KEY_COLUMNS, title="Keys", empty="no keys match")(console)
        if next_cursor:
            out.note(f"more keys: --cursor {next_cursor} (or --all)")

    out.emit({"items": items, "next_cursor": next_cursor}, json_out, render)


@command(app, "show")
def show(ctx: typer.Context, key_id: KeyId, json_out: JsonOption = False) -> None:
    """Show one key (never its secret: only its start)."""
    with open_backend(state_of(ctx)) as backend:
        key = backend.get_key(key_id)
    out.emit(key, json_out, lambda c: c.print(key_panel(key, "Key")))


@command(app, "update")
def update(
    ctx: typer.Context,
    key_id: KeyId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    clear_name: Annotated[bool, typer.Option(help="Remove the name.")] = False,
    owner: Annotated[str | None, typer.Option(help="New owner id.")] = None,
    clear_owner: Annotated[bool, typer.Option(help="Remove the owner.")] = False,
    meta: Annotated[str | None, typer.Option(help="Replace meta: JSON object or @file.")] = None,
    clear_meta: Annotated[bool, typer.Option(help="Empty meta.")] = False,
    permission: Permissions = None,
    clear_permissions: Annotated[bool, typer.Option(help="Remove every permission.")] = False,
    role: Roles = None,
    clear_roles: Annotated[bool, typer.Option(help="Remove every role.")] = False,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601 date-time.")] = None,
    expires_in: Annotated[str | None, typer.Option(help="Duration from now: 30d...")] = None,
    clear_expires_at: Annotated[bool, typer.Option(help="Never expire.")] = False,
    not_before: Annotated[str | None, typer.Option(help="ISO 8601 date-time.")] = None,
    clear_not_before: Annotated[bool, typer.Option(help="Valid at once.")] = False,
    restrictions: Annotated[
        str | None, typer.Option(help="Replace restrictions: JSON object or @file.")
    ] = None,
    clear_restrictions: Annotated[bool, typer.Option(help="Remove restrictions.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Change a key: options left out keep their value, --clear-* options empty one.
    --permission and --role replace the whole list."""
    changes = ChangeSet()
    changes.put("name", name, clear_name)
    changes.put("owner_id", owner, clear_owner, option="--owner")
    changes.put("meta", optional_json_object(meta, "--meta"), clear_meta)
    changes.put("permissions", permission or None, clear_permissions, option="--permission")
    changes.put("roles", role or None, clear_roles, option="--role")
    changes.put("expires_at", expiry(expires_at, expires_in), clear_expires_at)
    changes.put(
        "not_before",
        None if not_before is None else timestamp(not_before, "--not-before"),
        clear_not_before,
    )
    changes.put(
        "restrictions", optional_json_object(restrictions, "--restrictions"), clear_restrictions
    )
    with open_backend(state_of(ctx)) as backend:
        key = backend.update_key(key_id, changes.require_some())
    out.emit(key, json_out, lambda c: c.print(key_panel(key, "Key updated")))


def _state_change(
    ctx: typer.Context, key_id: str, action: str, json_out: bool, *, verb: str
) -> None:
    with open_backend(state_of(ctx)) as backend:
        operation = {
            "revoke": backend.revoke_key,
            "disable": backend.disable_key,
            "enable": backend.enable_key,
        }[action]
        key = operation(key_id)
    out.emit(key, json_out, lambda c: c.print(f"{verb} key {key['id']}.", markup=False))


@command(app, "revoke")
def revoke(
    ctx: typer.Context, key_id: KeyId, yes: YesOption = False, json_out: JsonOption = False
) -> None:
    """Revoke a key for good (it can never be enabled again)."""
    confirm(f"Revoke key {key_id} for good", yes=yes, json_mode=json_out)
    _state_change(ctx, key_id, "revoke", json_out, verb="Revoked")


@command(app, "disable")
def disable(ctx: typer.Context, key_id: KeyId, json_out: JsonOption = False) -> None:
    """Disable a key until it is enabled again."""
    _state_change(ctx, key_id, "disable", json_out, verb="Disabled")


@command(app, "enable")
def enable(ctx: typer.Context, key_id: KeyId, json_out: JsonOption = False) -> None:
    """Enable a disabled key (a revoked key stays revoked)."""
    _state_change(ctx, key_id, "enable", json_out, verb="Enabled")


@command(app, "delete")
def delete(
    ctx: typer.Context, key_id: KeyId, yes: YesOption = False, json_out: JsonOption = False
) -> None:
    """Delete a key and its record."""
    confirm(f"Delete key {key_id}", yes=yes, json_mode=json_out)
    with open_backend(state_of(ctx)) as backend:
        backend.delete_key(key_id)
    out.emit(
        {"deleted": True, "id": key_id},
        json_out,
        lambda c: c.print(f"Deleted key {key_id}.", markup=False),
    )


@command(app, "verify")
def verify(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The key to check, or - to read it from stdin.")],
    permissions: Annotated[
        str | None, typer.Option(help="Permission query, e.g. 'docs.read AND docs.write'.")
    ] = None,
    ip: Annotated[str | None, typer.Option(help="The client IP to check against.")] = None,
    referrer: Annotated[str | None, typer.Option(help="The request's Referer.")] = None,
    user_agent: Annotated[str | None, typer.Option(help="The request's User-Agent.")] = None,
    method: Annotated[str | None, typer.Option(help="The request's HTTP method.")] = None,
    path: Annotated[str | None, typer.Option(help="The request's path.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Verify a key. Exit code 0 when it is valid, 1 when it is not (prints the code)."""
    plaintext = secret_argument(key, "key")
    given = {
        "permissions": permissions,
        "ip": ip,
        "referrer": referrer,
        "user_agent": user_agent,
        "method": method,
        "path": path,
    }
    context = {k: v for k, v in given.items() if v is not None}
    if "permissions" in context and not context["permissions"].strip():
        raise UsageProblem("--permissions is empty")
    with open_backend(state_of(ctx)) as backend:
        result = backend.verify_key(plaintext, context)
    valid = bool(result.get("valid"))

    def render(console: Console) -> None:
        style = "bold green" if valid else "bold red"
        console.print(Text(str(result.get("code")), style=style))
        shown = [
            ("Reason", "reason"),
            ("Key", "key_id"),
            ("API", "api_id"),
            ("Owner", "owner_id"),
            ("Permissions", "permissions"),
            ("Expires", "expires_at"),
        ]
        present = {k: v for k, v in result.items() if v is not None}
        if any(name in present for _, name in shown):
            console.print(out.record(present, shown, title="Verification"))

    out.emit(result, json_out, render)
    if not valid:
        raise typer.Exit(1)
