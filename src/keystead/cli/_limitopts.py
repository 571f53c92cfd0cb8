"""The limit options keys, plans and owners share: the compact text of
:mod:`keystead.cli._limitspec`, or JSON when the value starts with ``{`` (or
``[`` for rate limits) or is ``@path``, passed on as given for the service to judge.

A limit set is ``{"ratelimits": [...], "quota": {...}, "credits": {...},
"concurrency": {...}}`` (docs/limits.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer

from keystead.cli import _limitspec as spec
from keystead.cli._inputs import ChangeSet, json_value
from keystead.cli._runtime import UsageProblem

Json = dict[str, Any]
LIMIT_FIELDS = ("ratelimits", "quota", "credits", "concurrency")

RatelimitOption = Annotated[
    list[str] | None,
    typer.Option(
        "--ratelimit",
        help="A rate limit NAME=LIMIT/DURATION, optionally with ,burst=N "
        ",algorithm=sliding_window; e.g. rpm=1000/60s (repeatable; or JSON / @file).",
        show_default=False,
    ),
]
QuotaOption = Annotated[
    str | None,
    typer.Option(
        help="A quota LIMIT/PERIOD (day, week, month), optionally with ,tz=ZONE "
        ",offset=DURATION; e.g. 10000/month (or JSON / @file).",
        show_default=False,
    ),
]
CreditsOption = Annotated[
    str | None,
    typer.Option(
        help="A credit balance N, optionally with ,refill=AMOUNT/DURATION ,mode=set|add "
        ",cap=N; e.g. 1000,refill=100/1d (or JSON / @file).",
        show_default=False,
    ),
]
ConcurrencyOption = Annotated[
    str | None,
    typer.Option(
        help="At most N requests in flight, optionally with ,lease=DURATION; "
        "e.g. 5,lease=30s (or JSON / @file).",
        show_default=False,
    ),
]


def given_limits(
    ratelimit: list[str] | None,
    quota: str | None,
    credits: str | None,
    concurrency: str | None,
) -> Json:
    """The limit fields the options give (absent options are left out)."""
    values = {
        "ratelimits": ratelimit_option(ratelimit),
        "quota": quota_option(quota),
        "credits": credits_option(credits),
        "concurrency": concurrency_option(concurrency),
    }
    return {name: value for name, value in values.items() if value is not None}


def put_limit_changes(
    changes: ChangeSet,
    given: Mapping[str, Any],
    *,
    clear_ratelimits: bool,
    clear_quota: bool,
    clear_credits: bool,
    clear_concurrency: bool,
) -> None:
    """Record set (a value) or clear (``None``) for each limit field of an update."""
    changes.put("ratelimits", given.get("ratelimits"), clear_ratelimits, option="--ratelimit")
    changes.put("quota", given.get("quota"), clear_quota)
    changes.put("credits", given.get("credits"), clear_credits)
    changes.put("concurrency", given.get("concurrency"), clear_concurrency)


# -- options: text or JSON ----------------------------------------------------


def _is_json(text: str) -> bool:
    stripped = text.lstrip()
    return stripped.startswith(("{", "[", "@"))


def _object(text: str, option: str, parse: Callable[[str, str], Json]) -> Json:
    if not _is_json(text):
        return parse(text, option)
    value = json_value(text, option)
    if not isinstance(value, dict):
        raise UsageProblem(f"{option} must be a JSON object, or the compact form (see --help)")
    return value


def ratelimit_option(values: list[str] | None, option: str = "--ratelimit") -> list[Json] | None:
    """Every ``--ratelimit``: compact text, a JSON object, or a JSON list of them."""
    if not values:
        return None
    out: list[Json] = []
    for text in values:
        if not _is_json(text):
            out.append(spec.parse_ratelimit(text, option))
            continue
        value = json_value(text, option)
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(item, dict) for item in items):
            raise UsageProblem(f"{option} must be a JSON object or a list of objects")
        out.extend(items)
    return out


def quota_option(text: str | None, option: str = "--quota") -> Json | None:
    return None if text is None else _object(text, option, spec.parse_quota)


def credits_option(text: str | None, option: str = "--credits") -> Json | None:
    return None if text is None else _object(text, option, spec.parse_credits)


def concurrency_option(text: str | None, option: str = "--concurrency") -> Json | None:
    return None if text is None else _object(text, option, spec.parse_concurrency)


__all__ = [
    "LIMIT_FIELDS",
    "ConcurrencyOption",
    "CreditsOption",
    "QuotaOption",
    "RatelimitOption",
    "concurrency_option",
    "credits_option",
    "given_limits",
    "put_limit_changes",
    "quota_option",
    "ratelimit_option",
]
