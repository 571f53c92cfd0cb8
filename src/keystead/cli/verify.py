"""``keystead keys verify`` and ``keystead keys release``: check a key as a
protected service would, spending its limits."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client
from keystead.cli._inputs import secret_argument
from keystead.cli._limitopts import ratelimit_option
from keystead.cli._limitviews import RESULT_COLUMNS, in_words, result_rows
from keystead.cli._runtime import CliState, JsonOption, UsageProblem, command, state_of

_VERDICT_FIELDS: list[out.Column] = [
    ("Reason", "reason"),
    ("Key", "key_id"),
    ("API", "api_id"),
    ("Owner", "owner_id"),
    ("Permissions", "permissions"),
    ("Expires", "expires_at"),
    ("Retry after", "retry_after_text"),
    ("Leases held", "leases"),
]
_MEMORY_NOTE = (
    "rate limits, quotas and concurrency were counted in this process only "
    "(KEYSTEAD_LIMITS_URL is memory://), so the next local command starts them afresh "
    "(credits carry over through the store); set KEYSTEAD_LIMITS_URL=redis://... to share them"
)


def register(app: typer.Typer) -> None:
    command(app, "verify")(verify)
    command(app, "release")(release)


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
    cost: Annotated[
        int | None,
        typer.Option(
            min=0, help="Units to spend on every limit of the key (default 1; 0 only looks)."
        ),
    ] = None,
    ratelimit: Annotated[
        list[str] | None,
        typer.Option(
            "--ratelimit",
            help="An extra rate limit for this call, NAME=LIMIT/DURATION (repeatable).",
            show_default=False,
        ),
    ] = None,
    keep_leases: Annotated[
        bool,
        typer.Option(
            help="Hold the concurrency slots taken (give them back with keys release); "
            "by default they are given back at once."
        ),
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Verify a key and spend its limits. Exit code 0 when it is valid, 1 when it
    is not (RATE_LIMITED and USAGE_EXCEEDED included; the code is printed)."""
    plaintext = secret_argument(key, "key")
    if permissions is not None and not permissions.strip():
        raise UsageProblem("--permissions is empty")
    extra = ratelimit_option(ratelimit)
    state = state_of(ctx)
    with open_client(state) as client:
        result = client.verify_key(
            plaintext,
            permissions=permissions,
            ip=ip,
            referrer=referrer,
            user_agent=user_agent,
            method=method,
            path=path,
            cost=cost,
            ratelimits=extra,
        )
        leases = result.get("leases") or []
        if leases and not keep_leases:
            client.release(leases)
            result = {k: v for k, v in result.items() if k != "leases"}
    valid = bool(result.get("valid"))
    if result.get("limits") and _counted_in_memory(state):
        out.note(f"note: {_MEMORY_NOTE}")
    out.emit(result, json_out, lambda console: _render(console, result))
    if not valid:
        raise typer.Exit(1)


def _counted_in_memory(state: CliState) -> bool:
    return not state.server_url() and state.settings().limits_url.startswith("memory:")


def _render(console: Console, result: Json) -> None:
    style = "bold green" if result.get("valid") else "bold red"
    console.print(Text(str(result.get("code")), style=style))
    present = {k: v for k, v in result.items() if v is not None}
    retry = result.get("retry_after")
    if isinstance(retry, int | float):
        present["retry_after_text"] = in_words(retry)
    if any(name in present for _, name in _VERDICT_FIELDS):
        console.print(out.record(present, _VERDICT_FIELDS, title="Verification"))
    limits = result.get("limits")
    if isinstance(limits, list) and limits:
        refused = None if result.get("valid") else result.get("reason")
        rows = result_rows(limits, refused if isinstance(refused, str) else None)
        console.print(out.table(rows, RESULT_COLUMNS, title="Limits"))


def release(
    ctx: typer.Context,
    lease: Annotated[
        list[str], typer.Argument(help="Lease tokens printed by keys verify --keep-leases.")
    ],
    json_out: JsonOption = False,
) -> None:
    """Give back concurrency slots held by keys verify --keep-leases."""
    with open_client(state_of(ctx)) as client:
        client.release(lease)
    out.emit(
        {"released": len(lease)},
        json_out,
        lambda c: c.print(f"Released {len(lease)} lease(s).", markup=False),
    )
