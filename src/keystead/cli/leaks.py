"""``keystead leaks``: report leaked keys, see what was done, and set the leak policy.

``report`` reads tokens from stdin or ``--file``, one per line, never from an
argument (it would land in shell history), and prints per token whether it was
live (and handled now by the policy), already revoked, or unknown; the table
shows each token's SHA-256, never the token.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, UsageProblem, command, state_of

app = typer.Typer(help="Leaked keys: report them, list what was done, set the leak policy.")
policy_app = typer.Typer(help="What a leak report does: revoke, rotate or notify.")
app.add_typer(policy_app, name="policy")


class Action(StrEnum):
    revoke = "revoke"
    rotate = "rotate"
    notify = "notify"


ANSWER_COLUMNS: list[Column] = [
    ("Token SHA-256", "token_hash"),
    ("Status", "status"),
    ("Outcome", "outcome"),
    ("Key", "key_id"),
    ("Start", "start"),
    ("Incident", "incident_id"),
]
LEAK_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Key", "key_id"),
    ("Source", "source"),
    ("Outcome", "outcome"),
    ("Incident", "incident_id"),
    ("Reported", "reported_at"),
]
LEAK_FIELDS: list[Column] = [
    *LEAK_COLUMNS,
    ("URL", "url"),
    ("Type", "token_type"),
    ("Exposed", "exposed_at"),
    ("Token SHA-256", "token_hash"),
    ("Reported by", "reported_by"),
]
POLICY_COLUMNS: list[Column] = [
    ("Of", "of"),
    ("Action", "action"),
    ("Grace (s)", "grace_period_s"),
    ("Replace", "replace"),
    ("Notify", "notify"),
]
ApiOption = Annotated[str | None, typer.Option("--api", help="An API's policy (api_...).")]


def _tokens(file: Path | None) -> list[str]:
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"cannot read {file}: {type(exc).__name__}") from None
    elif sys.stdin is not None and not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        raise UsageProblem("give the tokens on stdin or with --file, one per line")
    tokens = [line.strip() for line in text.splitlines() if line.strip()]
    if not tokens:
        raise UsageProblem("no token given")
    return tokens


@command(app, "report")
def report(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Option(help="Read the tokens from this file (default: stdin).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Where the tokens were seen.")] = None,
    source: Annotated[str, typer.Option(help="Who saw them: scanner, a person ...")] = "api",
    exposed_at: Annotated[
        str | None, typer.Option(help="When they were first exposed (ISO 8601).")
    ] = None,
    token_type: Annotated[str | None, typer.Option("--type", help="Their kind.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Report leaked tokens (one per line on stdin): live keys are handled by the
    leak policy at once (default: revoked, an incident opened, the owner told)."""
    tokens = _tokens(file)
    with open_client(state_of(ctx)) as client:
        answer = client.report_leaks(
            tokens, url=url, source=source, exposed_at=exposed_at, type=token_type
        )
    out.emit(
        answer,
        json_out,
        out.show_list(answer["items"], ANSWER_COLUMNS, title="Leak reports", empty="nothing"),
    )


@command(app, "list")
def list_leaks(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Option("--key", help="Only of this key id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="Continue after this page.")] = None,
    json_out: JsonOption = False,
) -> None:
    """List reported leaks, oldest first."""
    with open_client(state_of(ctx)) as client:
        page = client.list_leaks(key_id=key, cursor=cursor, limit=limit)

    def render(console: Console) -> None:
        out.show_list(page["items"], LEAK_COLUMNS, title="Leaks", empty="no leaks")(console)
        if page.get("next_cursor"):
            out.note(f"more leaks: --cursor {page['next_cursor']}")

    out.emit(page, json_out, render)


@command(app, "show")
def show(
    ctx: typer.Context,
    leak_id: Annotated[str, typer.Argument(help="The leak's id (lk_...).")],
    json_out: JsonOption = False,
) -> None:
    """Show a reported leak (its incident: keystead incidents show)."""
    with open_client(state_of(ctx)) as client:
        leak = client.get_leak(leak_id)
    out.emit(leak, json_out, lambda c: c.print(out.record(leak, LEAK_FIELDS, title="Leak")))


def _policy_rows(view: Json) -> list[Json]:
    rows = []
    for of in ("workspace", "api", "effective"):
        policy = view.get(of)
        if isinstance(policy, dict):
            rows.append({"of": of if of != "api" else f"api {policy.get('api_id')}", **policy})
    return rows


def _emit_policy(view: Json, json_out: bool) -> None:
    rows = _policy_rows(view)
    out.emit(view, json_out, out.show_list(rows, POLICY_COLUMNS, title="Leak policy", empty=""))


@command(policy_app, "get")
def policy_get(ctx: typer.Context, api: ApiOption = None, json_out: JsonOption = False) -> None:
    """Show the workspace's leak policy, an API's, and the one that applies."""
    with open_client(state_of(ctx)) as client:
        view = client.get_leak_policy(api_id=api)
    _emit_policy(view, json_out)


@command(policy_app, "set")
def policy_set(
    ctx: typer.Context,
    action: Annotated[Action, typer.Argument(help="revoke, rotate or notify.")],
    api: ApiOption = None,
    grace_period_s: Annotated[
        int | None, typer.Option(min=0, help="rotate: how long the leaked key keeps working.")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="revoke: issue a successor, held in a pickup for the owner.")
    ] = False,
    notify: Annotated[bool, typer.Option(help="Send key.compromised to the webhooks.")] = True,
    json_out: JsonOption = False,
) -> None:
    """Set the leak policy of the workspace, or of one API (--api)."""
    with open_client(state_of(ctx)) as client:
        view = client.set_leak_policy(
            action.value,
            api_id=api,
            grace_period_s=grace_period_s,
            replace=replace,
            notify=notify,
        )
    _emit_policy(view, json_out)


@command(policy_app, "clear")
def policy_clear(ctx: typer.Context, api: ApiOption = None, json_out: JsonOption = False) -> None:
    """Remove an API's policy (or the workspace's): the next one up applies."""
    with open_client(state_of(ctx)) as client:
        view = client.clear_leak_policy(api_id=api)
    _emit_policy(view, json_out)


__all__ = ["app"]
