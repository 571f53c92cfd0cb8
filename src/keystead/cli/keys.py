"""``keystead keys``: issue, inspect, change, revoke and verify API keys."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli import key_import as key_import_commands
from keystead.cli import rotate as rotate_commands
from keystead.cli import verify as verify_commands
from keystead.cli._connect import Json, open_client, run_delete
from keystead.cli._inputs import (
    ChangeSet,
    RotationPolicyOption,
    expiry,
    json_object,
    optional_json_object,
    timestamp,
)
from keystead.cli._limitopts import (
    ConcurrencyOption,
    CreditsOption,
    QuotaOption,
    RatelimitOption,
    given_limits,
    put_limit_changes,
)
from keystead.cli._runtime import JsonOption, YesOption, command, confirm, state_of
from keystead.cli._views import KEY_COLUMNS, key_panel, key_view
from keystead.client import ApiError, Client

app = typer.Typer(help="Manage API keys: create, list, show, update, revoke, verify.")
verify_commands.register(app)
rotate_commands.register(app)
key_import_commands.register(app)


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
PlanOption = Annotated[
    str | None, typer.Option("--plan", help="The id of a plan whose limits the key follows.")
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
    ratelimit: RatelimitOption = None,
    quota: QuotaOption = None,
    credits: CreditsOption = None,
    concurrency: ConcurrencyOption = None,
    plan: PlanOption = None,
    rotation_policy: RotationPolicyOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create a key. The key is printed once and never again: store it.

    Limits of its own (--ratelimit, --quota, --credits, --concurrency) replace
    those of its --plan: rate limits by name, the others whole."""
    spec: Json = {"api_id": api, **given_limits(ratelimit, quota, credits, concurrency)}
    optional = {"name": name, "owner_id": owner, "environment": environment, "plan_id": plan}
    spec.update({k: v for k, v in optional.items() if v is not None})
    if meta is not None:
        spec["meta"] = json_object(meta, "--meta", allow_file=True)
    if restrictions is not None:
        spec["restrictions"] = json_object(restrictions, "--restrictions", allow_file=True)
    if rotation_policy is not None:
        spec["rotation_policy"] = json_object(rotation_policy, "--rotation-policy", allow_file=True)
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
    if count is not None:
        with open_client(state_of(ctx)) as client:
            created = client.create_keys([dict(spec) for _ in range(count)])
        out.emit({"items": created}, json_out, lambda c: out.reveal_many(c, created))
        return
    with open_client(state_of(ctx)) as client:
        key = client.create_key(**spec)

    def render_one(console: Console) -> None:
        console.print(key_panel({k: v for k, v in key.items() if k != "key"}, "Key created"))
        out.reveal(console, "Key", key["key"])

    out.emit(key, json_out, render_one)


@command(app, "list")
def list_keys(
    ctx: typer.Context,
    api: Annotated[str | None, typer.Option("--api", help="Only keys of this API.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only keys of this owner.")] = None,
    state: Annotated[State | None, typer.Option(help="Only keys in this state.")] = None,
    plan: Annotated[str | None, typer.Option(help="Only keys on this plan (its id).")] = None,
    environment: Annotated[str | None, typer.Option(help="Only keys of this environment.")] = None,
    search: Annotated[
        str | None,
        typer.Option(help="Name contains it (any case), or owner id or start begins with it."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="Continue after this page.")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Fetch every page.")] = False,
    json_out: JsonOption = False,
) -> None:
    """List keys, newest last, a page at a time (or --all)."""
    items: list[Json] = []
    next_cursor = cursor
    with open_client(state_of(ctx)) as client:
        while True:
            page = client.list_keys(
                api_id=api,
                owner_id=owner,
                state=None if state is None else state.value,
                plan_id=plan,
                environment=environment,
                search=search,
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
    """Show one key (never its secret: only its start), its limits and credit balance."""
    with open_client(state_of(ctx)) as client:
        key = client.get_key(key_id)
        plan = None if json_out else _plan_if_readable(client, key.get("plan_id"))
    out.emit(key, json_out, lambda c: key_view(c, key, "Key", plan))


def _plan_if_readable(client: Client, plan_id: object) -> Json | None:
    """The key's plan for the human view; a root key without plans.read sees its id only."""
    if not isinstance(plan_id, str):
        return None
    try:
        return client.get_plan(plan_id)
    except ApiError:
        return None


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
    ratelimit: RatelimitOption = None,
    clear_ratelimits: Annotated[bool, typer.Option(help="Remove its own rate limits.")] = False,
    quota: QuotaOption = None,
    clear_quota: Annotated[bool, typer.Option(help="Remove its own quota.")] = False,
    reset_quota: Annotated[
        bool, typer.Option(help="Start the quota's count afresh (else it is kept).")
    ] = False,
    credits: CreditsOption = None,
    clear_credits: Annotated[bool, typer.Option(help="Remove its own credits.")] = False,
    concurrency: ConcurrencyOption = None,
    clear_concurrency: Annotated[bool, typer.Option(help="Remove its concurrency.")] = False,
    plan: PlanOption = None,
    clear_plan: Annotated[bool, typer.Option(help="Take the key off its plan.")] = False,
    rotation_policy: RotationPolicyOption = None,
    clear_rotation_policy: Annotated[
        bool, typer.Option(help="Remove its own rotation policy (the API's applies).")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Change a key: options left out keep their value, --clear-* options empty one.
    --permission, --role and --ratelimit replace the whole list; --credits sets
    the live balance."""
    changes = ChangeSet()
    changes.put("name", name, clear_name)
    changes.put("owner_id", owner, clear_owner, option="--owner", clear_option="--clear-owner")
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
    put_limit_changes(
        changes,
        given_limits(ratelimit, quota, credits, concurrency),
        clear_ratelimits=clear_ratelimits,
        clear_quota=clear_quota,
        clear_credits=clear_credits,
        clear_concurrency=clear_concurrency,
    )
    changes.put("plan_id", plan, clear_plan, option="--plan", clear_option="--clear-plan")
    changes.put(
        "rotation_policy",
        optional_json_object(rotation_policy, "--rotation-policy"),
        clear_rotation_policy,
    )
    if reset_quota:
        changes.changes["reset_quota"] = True
    with open_client(state_of(ctx)) as client:
        key = client.update_key(key_id, changes.require_some())
    out.emit(key, json_out, lambda c: key_view(c, key, "Key updated"))


def _state_change(
    ctx: typer.Context, key_id: str, action: str, json_out: bool, *, verb: str
) -> None:
    with open_client(state_of(ctx)) as client:
        operation = {
            "revoke": client.revoke_key,
            "disable": client.disable_key,
            "enable": client.enable_key,
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
    run_delete(
        state_of(ctx),
        lambda client: client.delete_key(key_id),
        prompt=f"Delete key {key_id}",
        done=f"Deleted key {key_id}.",
        answer={"id": key_id},
        yes=yes,
        json_out=json_out,
    )
