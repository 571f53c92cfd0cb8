"""``keystead plans``: named bundles of limits (tiers) that keys follow."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import open_client, run_delete
from keystead.cli._inputs import ChangeSet
from keystead.cli._limitopts import (
    ConcurrencyOption,
    CreditsOption,
    QuotaOption,
    RatelimitOption,
    given_limits,
    put_limit_changes,
)
from keystead.cli._runtime import JsonOption, YesOption, command, state_of
from keystead.cli._views import PLAN_COLUMNS, PLAN_FIELDS, limited_view, with_summary

app = typer.Typer(
    help="Manage plans: named sets of limits that keys follow (change a plan, every key "
    "on it changes)."
)

PlanId = Annotated[str, typer.Argument(help="The plan's id (plan_...).", show_default=False)]
Priority = Annotated[
    int | None,
    typer.Option(min=0, max=100, help="0-100: under load, higher priorities are shed last."),
]


@command(app, "create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name, unique in the workspace.")],
    ratelimit: RatelimitOption = None,
    quota: QuotaOption = None,
    credits: CreditsOption = None,
    concurrency: ConcurrencyOption = None,
    priority: Priority = None,
    json_out: JsonOption = False,
) -> None:
    """Create a plan. Keys join it with keys create/update --plan ID."""
    limits = given_limits(ratelimit, quota, credits, concurrency)
    with open_client(state_of(ctx)) as client:
        plan = client.create_plan(name, **limits, priority=priority)
    out.emit(plan, json_out, lambda c: limited_view(c, plan, PLAN_FIELDS, "Plan created"))


@command(app, "list")
def list_plans(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the plans."""
    with open_client(state_of(ctx)) as client:
        items = client.list_plans()
    out.emit(
        {"items": items},
        json_out,
        out.show_list(
            with_summary(items),
            PLAN_COLUMNS,
            title="Plans",
            empty="no plans: keystead plans create",
        ),
    )


@command(app, "show")
def show(ctx: typer.Context, plan_id: PlanId, json_out: JsonOption = False) -> None:
    """Show one plan and its limits."""
    with open_client(state_of(ctx)) as client:
        plan = client.get_plan(plan_id)

    def render(console: Console) -> None:
        limited_view(console, plan, PLAN_FIELDS, f"Plan {plan.get('name')}")

    out.emit(plan, json_out, render)


@command(app, "update")
def update(
    ctx: typer.Context,
    plan_id: PlanId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    priority: Priority = None,
    ratelimit: RatelimitOption = None,
    clear_ratelimits: Annotated[bool, typer.Option(help="Remove every rate limit.")] = False,
    quota: QuotaOption = None,
    clear_quota: Annotated[bool, typer.Option(help="Remove the quota.")] = False,
    credits: CreditsOption = None,
    clear_credits: Annotated[bool, typer.Option(help="Remove the credits.")] = False,
    concurrency: ConcurrencyOption = None,
    clear_concurrency: Annotated[bool, typer.Option(help="Remove the concurrency.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Change a plan: options left out keep their value; --ratelimit replaces every
    rate limit. Every key on the plan follows at once."""
    changes = ChangeSet()
    changes.put("name", name, False)
    changes.put("priority", priority, False)
    put_limit_changes(
        changes,
        given_limits(ratelimit, quota, credits, concurrency),
        clear_ratelimits=clear_ratelimits,
        clear_quota=clear_quota,
        clear_credits=clear_credits,
        clear_concurrency=clear_concurrency,
    )
    with open_client(state_of(ctx)) as client:
        plan = client.update_plan(plan_id, changes.require_some())
    out.emit(plan, json_out, lambda c: limited_view(c, plan, PLAN_FIELDS, "Plan updated"))


@command(app, "delete")
def delete(
    ctx: typer.Context, plan_id: PlanId, yes: YesOption = False, json_out: JsonOption = False
) -> None:
    """Delete a plan (refused while keys use it)."""
    run_delete(
        state_of(ctx),
        lambda client: client.delete_plan(plan_id),
        prompt=f"Delete plan {plan_id}",
        done=f"Deleted plan {plan_id}.",
        answer={"id": plan_id},
        yes=yes,
        json_out=json_out,
    )
