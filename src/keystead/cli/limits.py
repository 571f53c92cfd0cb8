"""``keystead limits``: the state of the limiter itself (brute-force protection)."""

from __future__ import annotations

import ipaddress
import time
from typing import Annotated, Any

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._limitviews import in_words
from keystead.cli._runtime import JsonOption, UsageProblem, command, state_of

app = typer.Typer(help="Inspect the limiter: brute-force protection per client IP.")

_FIELDS: list[out.Column] = [
    ("IP", "ip"),
    ("Protection on", "enabled"),
    ("Blocked", "blocked"),
    ("Failures seen", "failures_seen"),
    ("Attempts left", "attempts_left"),
    ("Window", "window"),
    ("Whole again in", "reset_in"),
]
_SHOWN_AS_TEXT = frozenset({"blocked_until", "remaining", "limit", "window_s", "reset"})


@command(app, "failed-attempts")
def failed_attempts(
    ctx: typer.Context,
    ip: Annotated[str, typer.Argument(help="The client IP address.", show_default=False)],
    json_out: JsonOption = False,
) -> None:
    """Show an IP's brute-force state: failed verifications (MALFORMED, NOT_FOUND)
    and whether verifications from it are refused for now."""
    try:
        address = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        raise UsageProblem(f"{ip!r} is not an IP address") from None
    state = state_of(ctx)
    with open_client(state) as client:
        result = client.failed_attempts(address)
    if not state.server_url() and state.settings().limits_url.startswith("memory:"):
        out.note(
            "note: KEYSTEAD_LIMITS_URL is memory://, so this process shares no counters "
            "with a server; ask the server itself: keystead --url URL limits failed-attempts IP"
        )
    out.emit(result, json_out, lambda console: _render(console, result))


def _render(console: Console, result: dict[str, Any]) -> None:
    now = time.time()
    shown = dict(result)
    until = result.get("blocked_until")
    if isinstance(until, int | float) and until > now:
        shown["blocked"] = f"yes, for {in_words(until - now)}"
    elif "blocked_until" in result:
        shown["blocked"] = False
    if isinstance(result.get("remaining"), int) and isinstance(result.get("limit"), int):
        shown["attempts_left"] = f"{result['remaining']}/{result['limit']}"
    if isinstance(result.get("window_s"), int | float):
        shown["window"] = in_words(result["window_s"])
    reset = result.get("reset")
    if isinstance(reset, int | float) and reset > now:
        shown["reset_in"] = in_words(reset - now)
    known = {name for _, name in _FIELDS} | _SHOWN_AS_TEXT
    extra = [(name, name) for name in result if name not in known]
    console.print(out.record(shown, [*_FIELDS, *extra], title="Failed attempts"))
