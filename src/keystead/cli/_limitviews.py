"""How limit sets and verify's limit results are shown to people.

Records carry a limit set as four top-level fields (``ratelimits``, ``quota``,
``credits``, ``concurrency``); :func:`limits_of` also reads a nested ``limits``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from keystead.cli import _limitspec as spec
from keystead.cli._output import Column, table

Json = dict[str, Any]
LIMIT_FIELDS = ("ratelimits", "quota", "credits", "concurrency")


def limits_of(record: Mapping[str, Any]) -> Json:
    """A record's limit set, from its four fields or a nested ``limits`` object."""
    nested = record.get("limits")
    source = nested if isinstance(nested, Mapping) else record
    return {name: source.get(name) for name in LIMIT_FIELDS}


def spec_text(kind: str, value: Any) -> str:
    """One limit in the compact form; JSON as it came when it does not fit one."""
    writers = {
        "ratelimit": spec.format_ratelimit,
        "quota": spec.format_quota,
        "credits": spec.format_credits,
        "concurrency": spec.format_concurrency,
    }
    try:
        return writers[kind](value)
    except (KeyError, TypeError, ValueError, AttributeError):
        return str(value)


def limit_rows(limits: Mapping[str, Any], source: str | None = None) -> list[Json]:
    """One row per limit: kind, name, the compact spec (and where it comes from)."""
    rows: list[Json] = []
    for rate in limits.get("ratelimits") or []:
        name = rate.get("name") if isinstance(rate, Mapping) else None
        rows.append({"kind": "rate limit", "name": name, "spec": spec_text("ratelimit", rate)})
    for field in ("quota", "credits", "concurrency"):
        value = limits.get(field)
        if value:
            rows.append({"kind": field, "name": None, "spec": spec_text(field, value)})
    return [{**row, "source": source} for row in rows]


def effective_rows(own: Mapping[str, Any], plan: Mapping[str, Any] | None) -> list[Json]:
    """A key's limits as they apply: its plan's, with its own replacing them
    (rate limits by name; quota, credits and concurrency whole)."""
    mine = limit_rows(own, "key")
    if plan is None:
        return mine
    taken = {(row["kind"], row["name"]) for row in mine}
    label = f"plan {plan.get('name') or plan.get('id')}"
    inherited = [
        row
        for row in limit_rows(limits_of(plan), label)
        if (row["kind"], row["name"] if row["kind"] == "rate limit" else None) not in taken
    ]
    return inherited + mine


def summary(record: Mapping[str, Any]) -> str:
    """A limit set on one line, for list tables."""
    parts = [
        row["spec"] if row["kind"] == "rate limit" else f"{row['kind']} {row['spec']}"
        for row in limit_rows(limits_of(record))
    ]
    return "; ".join(parts) or "-"


LIMIT_COLUMNS: list[Column] = [("Kind", "kind"), ("Name", "name"), ("Limit", "spec")]


def limits_table(
    limits: Mapping[str, Any], *, title: str = "Limits", plan: Mapping[str, Any] | None = None
) -> Table | Text:
    """A limit set as a table; with ``plan``, a key's limits and where each comes from."""
    rows = effective_rows(limits, plan)
    if not rows:
        return Text("No limits.", style="dim")
    columns = [*LIMIT_COLUMNS, ("From", "source")] if plan is not None else LIMIT_COLUMNS
    return table(rows, columns, title=title)


def in_words(seconds: float) -> str:
    """``42s``, ``3m 5s``, ``2h 10m``, ``4d 1h``: a wait, for people."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    for size, unit, smaller, small_unit in (
        (86400, "d", 3600, "h"),
        (3600, "h", 60, "m"),
        (60, "m", 1, "s"),
    ):
        if whole >= size:
            big, rest = divmod(whole, size)
            tail = rest // smaller
            return f"{big}{unit} {tail}{small_unit}" if tail else f"{big}{unit}"
    return f"{whole}s"  # pragma: no cover - every whole >= 60 matched above


def result_rows(
    results: Sequence[Mapping[str, Any]], refused: str | None = None, now: float | None = None
) -> list[Json]:
    """Verify's ``limits`` for a table: name, remaining/limit, reset in, retry
    after; ``refused`` names the limit that refused the request."""
    moment = time.time() if now is None else now
    rows: list[Json] = []
    for item in results:
        reset = item.get("reset")
        retry = item.get("retry_after")
        wait = None if reset is None else float(reset) - moment
        rows.append(
            {
                "status": "refused" if refused is not None and item.get("name") == refused else "",
                "name": item.get("name"),
                "kind": str(item.get("kind", "")).replace("_", " "),
                "remaining": (
                    str(item.get("remaining"))
                    if item.get("kind") == "credits"  # a balance: its "limit" is where it began
                    else f"{item.get('remaining')}/{item.get('limit')}"
                ),
                "reset": None if wait is None else "now" if wait < 0.5 else in_words(wait),
                "retry": None if retry is None else in_words(float(retry)),
            }
        )
    return rows


RESULT_COLUMNS: list[Column] = [
    ("", "status"),
    ("Limit", "name"),
    ("Kind", "kind"),
    ("Remaining", "remaining"),
    ("Reset in", "reset"),
    ("Retry after", "retry"),
]


__all__ = [
    "LIMIT_COLUMNS",
    "RESULT_COLUMNS",
    "effective_rows",
    "in_words",
    "limit_rows",
    "limits_of",
    "limits_table",
    "result_rows",
    "spec_text",
    "summary",
]
