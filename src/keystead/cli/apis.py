"""``keystead apis``: the APIs (key spaces) of a workspace, and their roles."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client, run_delete
from keystead.cli._inputs import (
    ChangeSet,
    RotationPolicyOption,
    json_object,
    optional_json_object,
)
from keystead.cli._limitopts import ratelimit_option
from keystead.cli._runtime import JsonOption, UsageProblem, YesOption, command, state_of
from keystead.cli._views import API_COLUMNS, API_FIELDS, ROLE_COLUMNS, api_view
from keystead.client import ApiError, Client

app = typer.Typer(help="Manage APIs: each one is a key space with its own prefix.")
roles_app = typer.Typer(help="Manage the roles of an API (named sets of permissions).")
app.add_typer(roles_app, name="roles")

ApiId = Annotated[str, typer.Argument(help="The API's id (api_...).", show_default=False)]


class FailurePolicy(StrEnum):
    open = "open"
    closed = "closed"


FailurePolicyOption = Annotated[
    FailurePolicy | None,
    typer.Option(
        help="When the limiter cannot be reached: let requests through (open, the "
        "default) or refuse them (closed).",
        show_default=False,
    ),
]
IpRatelimitOption = Annotated[
    list[str] | None,
    typer.Option(
        "--ip-ratelimit",
        help="A rate limit per client IP for the API's keys, NAME=LIMIT/DURATION "
        "(repeatable; replaces the list; or JSON / @file).",
        show_default=False,
    ),
]


def _limit_settings(
    failure_policy: FailurePolicy | None, ip_ratelimit: list[str] | None
) -> dict[str, Any] | None:
    """The API's ``limits`` object from the options, or None when neither is given."""
    rates = ratelimit_option(ip_ratelimit, "--ip-ratelimit")
    if failure_policy is None and rates is None:
        return None
    settings: dict[str, Any] = {}
    if failure_policy is not None:
        settings["failure_policy"] = failure_policy.value
    if rates is not None:
        settings["ip_ratelimits"] = rates
    return settings


@command(app, "create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name, unique in the workspace.")],
    prefix: Annotated[
        str | None, typer.Option(help="Key prefix: a-z, 0-9 and _ (default 'ks').")
    ] = None,
    key_defaults: Annotated[
        str | None,
        typer.Option(
            "--key-defaults",
            help="JSON object (or @file) of defaults for new keys: permissions, roles, meta, "
            "restrictions, environment, expires_in_s, enabled.",
        ),
    ] = None,
    failure_policy: FailurePolicyOption = None,
    ip_ratelimit: IpRatelimitOption = None,
    rotation_policy: RotationPolicyOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create an API."""
    defaults = (
        None
        if key_defaults is None
        else json_object(key_defaults, "--key-defaults", allow_file=True)
    )
    limits = _limit_settings(failure_policy, ip_ratelimit)
    with open_client(state_of(ctx)) as client:
        api = client.create_api(
            name,
            prefix=prefix,
            key_defaults=defaults,
            limits=limits,
            rotation_policy=optional_json_object(rotation_policy, "--rotation-policy"),
        )
    out.emit(api, json_out, lambda c: c.print(_panel(api, "API created")))


@command(app, "update")
def update(
    ctx: typer.Context,
    api_id: ApiId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    key_defaults: Annotated[
        str | None,
        typer.Option("--key-defaults", help="Replace the key defaults: JSON object or @file."),
    ] = None,
    failure_policy: FailurePolicyOption = None,
    ip_ratelimit: IpRatelimitOption = None,
    clear_ip_ratelimits: Annotated[
        bool, typer.Option(help="Remove the per-IP rate limits.")
    ] = False,
    rotation_policy: RotationPolicyOption = None,
    clear_rotation_policy: Annotated[
        bool, typer.Option(help="Remove the API's rotation policy.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Change an API's name, key defaults or limit settings (options left out keep
    their value)."""
    changes = ChangeSet()
    changes.put("name", name, False)
    changes.put("key_defaults", optional_json_object(key_defaults, "--key-defaults"), False)
    changes.put(
        "rotation_policy",
        optional_json_object(rotation_policy, "--rotation-policy"),
        clear_rotation_policy,
    )
    if clear_ip_ratelimits and ip_ratelimit:
        raise UsageProblem("give --ip-ratelimit or --clear-ip-ratelimits, not both")
    given = _limit_settings(failure_policy, ip_ratelimit)
    with open_client(state_of(ctx)) as client:
        if given is not None or clear_ip_ratelimits:
            current = client.get_api(api_id).get("limits")
            limits = dict(current) if isinstance(current, dict) else {}
            limits.update(given or {})
            if clear_ip_ratelimits:
                limits.pop("ip_ratelimits", None)
            changes.changes["limits"] = limits
        api = client.update_api(api_id, changes.require_some())
    out.emit(api, json_out, lambda c: c.print(_panel(api, "API updated")))


def _panel(api: Json, title: str) -> Panel:
    return out.record(api_view(api), API_FIELDS, title=title)


@command(app, "list")
def list_apis(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the APIs."""
    with open_client(state_of(ctx)) as client:
        items = client.list_apis()
    out.emit(
        {"items": items},
        json_out,
        out.show_list(items, API_COLUMNS, title="APIs", empty="no APIs yet: keystead apis create"),
    )


@command(app, "show")
def show(ctx: typer.Context, api_id: ApiId, json_out: JsonOption = False) -> None:
    """Show one API and its roles."""
    with open_client(state_of(ctx)) as client:
        api = client.get_api(api_id)
        roles = [] if json_out else _roles_if_allowed(client, api_id)

    def render(console: Console) -> None:
        console.print(_panel(api, f"API {api['name']}"))
        if roles:
            console.print(out.table(roles, ROLE_COLUMNS, title="Roles"))

    out.emit(api, json_out, render)


def _roles_if_allowed(client: Client, api_id: str) -> list[Json]:
    """The roles for the human view; a root key without roles.read just sees none."""
    try:
        return client.list_roles(api_id)
    except ApiError:
        return []


@command(app, "delete")
def delete(
    ctx: typer.Context, api_id: ApiId, yes: YesOption = False, json_out: JsonOption = False
) -> None:
    """Delete an API (refused while it still has keys)."""
    run_delete(
        state_of(ctx),
        lambda client: client.delete_api(api_id),
        prompt=f"Delete API {api_id}",
        done=f"Deleted API {api_id}.",
        answer={"id": api_id},
        yes=yes,
        json_out=json_out,
    )


@command(roles_app, "put")
def put_role(
    ctx: typer.Context,
    api_id: ApiId,
    name: Annotated[str, typer.Argument(help="The role's name.")],
    permission: Annotated[
        list[str] | None,
        typer.Option("--permission", "-p", help="A permission of the role (repeatable)."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the role is for.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Create or replace a role."""
    if not permission:
        raise UsageProblem("give the role's permissions with --permission (repeatable)")
    with open_client(state_of(ctx)) as client:
        role = client.put_role(api_id, name, permission, description=description)
    out.emit(role, json_out, lambda c: c.print(out.record(role, ROLE_COLUMNS, title="Role saved")))


@command(roles_app, "list")
def list_roles(ctx: typer.Context, api_id: ApiId, json_out: JsonOption = False) -> None:
    """List the roles of an API."""
    with open_client(state_of(ctx)) as client:
        items = client.list_roles(api_id)
    out.emit(
        {"items": items},
        json_out,
        out.show_list(items, ROLE_COLUMNS, title="Roles", empty="this API has no roles"),
    )


@command(roles_app, "delete")
def delete_role(
    ctx: typer.Context,
    api_id: ApiId,
    name: Annotated[str, typer.Argument(help="The role's name.")],
    yes: YesOption = False,
    json_out: JsonOption = False,
) -> None:
    """Delete a role; keys holding it lose its permissions."""
    run_delete(
        state_of(ctx),
        lambda client: client.delete_role(api_id, name),
        prompt=f"Delete role {name} of API {api_id}",
        done=f"Deleted role {name}.",
        answer={"api_id": api_id, "name": name},
        yes=yes,
        json_out=json_out,
    )
