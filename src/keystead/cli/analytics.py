"""``keystead analytics``: usage series of a key, owner or API as a table with a
sparkline of volume, and the most frequent IPs, countries, user agents or paths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from keystead.cli import _limitopts as limitopts
from keystead.cli import _limitspec
from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._runtime import JsonOption, UsageProblem, command, state_of

app = typer.Typer(
    help="Usage analytics: volume, outcomes, errors, latency and distinct clients "
    "of a key, owner or API over time (docs/monitoring.md)."
)

LEVELS = "▁▂▃▄▅▆▇█"

KeyOpt = Annotated[str | None, typer.Option("--key", help="A key id.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="An owner id.")]
ApiOpt = Annotated[str | None, typer.Option("--api", help="An API id.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="ISO 8601, inclusive.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="ISO 8601, exclusive (default: now).")]
AfterLeakOpt = Annotated[
    bool, typer.Option("--after-leak", help="A leaked key's uses from its leak time on.")
]


def sparkline(values: Sequence[int]) -> str:
    """One block per value, scaled to the largest: ▁ for nothing, █ for the peak."""
    peak = max(values, default=0)
    if peak <= 0:
        return LEVELS[0] * len(values)
    top = len(LEVELS) - 1
    return "".join(LEVELS[(v * top + peak - 1) // peak] if v > 0 else LEVELS[0] for v in values)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _scope(
    key: str | None, owner: str | None, api: str | None, since: str | None, until: str | None
) -> dict[str, str]:
    """The SDK's scope arguments: the key, owner or API named, and the range given."""
    scope = {"key_id": key, "owner_id": owner, "api_id": api, "since": since, "until": until}
    return {name: value for name, value in scope.items() if value is not None}


def _series_table(series: Mapping[str, Any]) -> Table:
    buckets = series["buckets"]
    line = sparkline([b["total"] for b in buckets])
    title = f"Usage of {series['scope']} {series['scope_id']} per {series['granularity']}"
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    headers = ("Start", "Volume", "Total", "Valid", "Failed", "4xx", "5xx", "Errors")
    for header in (*headers, "p50 ms", "p99 ms", "IPs", "Agents"):
        table.add_column(header, no_wrap=True, justify="left" if header == "Start" else "right")
    for bucket, level in zip(buckets, line, strict=True):
        latency = bucket["latency_ms"]
        table.add_row(
            out.cell(bucket["start"], compact=True),
            Text(level),
            *(
                str(bucket[name])
                for name in ("total", "success", "failure", "status_4xx", "status_5xx")
            ),
            _rate(bucket["error_rate"]),
            _ms(latency["p50"]),
            _ms(latency["p99"]),
            str(bucket["distinct_ips"]),
            str(bucket["distinct_user_agents"]),
        )
    return table


@command(app, "usage")
def usage(
    ctx: typer.Context,
    key: KeyOpt = None,
    owner: OwnerOpt = None,
    api: ApiOpt = None,
    since: FromOpt = None,
    until: ToOpt = None,
    granularity: Annotated[
        str, typer.Option("--granularity", "-g", help="minute, hour or day.")
    ] = "hour",
    after_leak: AfterLeakOpt = False,
    json_out: JsonOption = False,
) -> None:
    """Buckets of one key, owner or API (name exactly one), none missing."""
    scope = _scope(key, owner, api, since, until)
    with open_client(state_of(ctx)) as client:
        series = client.usage_series(granularity=granularity, after_leak=after_leak, **scope)

    def render(console: Console) -> None:
        totals = series["totals"]
        console.print(_series_table(series))
        console.print(
            Text(
                f"volume {sparkline([b['total'] for b in series['buckets']])}  "
                f"total {totals['total']}, valid {totals['success']}, "
                f"failed {totals['failure']}, errors {_rate(totals['error_rate'])}, "
                f"p99 {_ms(totals['latency_ms']['p99'])} ms, "
                f"~{totals['distinct_ips']} IPs"
            ),
            soft_wrap=True,
        )
        if series.get("last_used_at"):
            console.print(Text.assemble("last used ", out.cell(series["last_used_at"])))
        if series.get("leaked_at"):
            console.print(Text.assemble("leaked ", out.cell(series["leaked_at"])))

    out.emit(series, json_out, render)


@command(app, "top")
def top(
    ctx: typer.Context,
    key: KeyOpt = None,
    owner: OwnerOpt = None,
    api: ApiOpt = None,
    since: FromOpt = None,
    until: ToOpt = None,
    by: Annotated[
        str, typer.Option(help="ip, country, user_agent, path, key_id or owner_id.")
    ] = "ip",
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many values.")] = 10,
    after_leak: AfterLeakOpt = False,
    json_out: JsonOption = False,
) -> None:
    """The most frequent values of one key's, owner's or API's raw usage records."""
    scope = _scope(key, owner, api, since, until)
    with open_client(state_of(ctx)) as client:
        found = client.usage_top(by=by, limit=limit, after_leak=after_leak, **scope)

    def render(console: Console) -> None:
        items = found["items"]
        if not items:
            out.note("no usage in this range")
            return
        line = sparkline([item["count"] for item in items])
        console.print(Text(f"Top {found['by']} of {found['scope']} {found['scope_id']}"))
        table = Table(box=box.SIMPLE_HEAD)
        table.add_column(found["by"], overflow="fold")
        table.add_column("Count", justify="right", no_wrap=True)
        table.add_column("", no_wrap=True)
        for item, level in zip(items, line, strict=True):
            table.add_row(Text(item["value"]), str(item["count"]), Text(level))
        console.print(table)

    out.emit(found, json_out, render)


_PER = {"second": "1s", "minute": "1m", "hour": "1h", "day": "1d", "week": "7d"}


def limit_shorthand(text: str) -> dict[str, Any]:
    """``--limit 1000/day``: a rate limit named after its period (``day``), or
    ``N/DURATION`` (``100/10s``) named ``limit``."""
    count, sep, per = text.strip().partition("/")
    per = per.strip().lower()
    if not sep or not per:
        raise UsageProblem(f"--limit {text!r}: expected LIMIT/PERIOD (e.g. 1000/day)")
    name = per if per in _PER else "limit"
    return _limitspec.parse_ratelimit(f"{name}={count.strip()}/{_PER.get(per, per)}", "--limit")


def _refusals_table(title: str, rows: Sequence[Mapping[str, Any]], with_owner: bool) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Key" if with_owner else "Owner", overflow="fold")
    if with_owner:
        table.add_column("Owner", overflow="fold")
    table.add_column("Uses", justify="right", no_wrap=True)
    table.add_column("Refused", justify="right", no_wrap=True)
    table.add_column("Share", justify="right", no_wrap=True)
    for row in rows:
        share = _rate(row["refused"] / row["requests"] if row["requests"] else None)
        ids = [row["key_id"], row["owner_id"]] if with_owner else [row["owner_id"]]
        cells = [Text("-" if i is None else str(i)) for i in ids]
        table.add_row(*cells, str(row["requests"]), str(row["refused"]), share)
    return table


@command(app, "what-if")
def what_if(
    ctx: typer.Context,
    plan: Annotated[
        str | None, typer.Option("--plan", help="A plan id: the proposal replaces its limits.")
    ] = None,
    key: KeyOpt = None,
    api: ApiOpt = None,
    limit: Annotated[
        list[str] | None,
        typer.Option(
            "--limit",
            help="A rate limit LIMIT/PERIOD, e.g. 1000/day (repeatable).",
            show_default=False,
        ),
    ] = None,
    ratelimit: limitopts.RatelimitOption = None,
    quota: limitopts.QuotaOption = None,
    credits: limitopts.CreditsOption = None,
    days: Annotated[int, typer.Option(min=1, max=31, help="Replay the last N days.")] = 7,
    granularity: Annotated[
        str, typer.Option("--granularity", "-g", help="minute, hour or day.")
    ] = "hour",
    top_n: Annotated[
        int, typer.Option("--top", min=1, max=100, help="Owners and keys shown.")
    ] = 20,
    json_out: JsonOption = False,
) -> None:
    """Replay recorded usage against proposed limits: who would have been refused, and when."""
    proposal = limitopts.given_limits(ratelimit, quota, credits, None)
    shorthand = [limit_shorthand(text) for text in limit or ()]
    if shorthand:
        proposal["ratelimits"] = [*proposal.get("ratelimits", []), *shorthand]
    if not proposal:
        raise UsageProblem("propose limits: --limit, --ratelimit, --quota or --credits")
    with open_client(state_of(ctx)) as client:
        found = client.what_if(
            proposal,
            plan_id=plan,
            key_id=key,
            api_id=api,
            days=days,
            granularity=granularity,
            top=top_n,
        )

    def render(console: Console) -> None:
        totals = found["totals"]
        line = sparkline([b["refused"] for b in found["buckets"]])
        console.print(
            Text(
                f"What if {found['scope']} {found['scope_id']} had {found['proposal']}: "
                f"{totals['refused']} of {totals['requests']} uses refused, "
                f"{totals['owners_refused']} owners and {totals['keys_refused']} keys "
                f"affected (from {found['covered_from']} to {found['to']})"
            ),
            soft_wrap=True,
        )
        console.print(Text(f"refusals per {found['granularity']} {line}"), soft_wrap=True)
        console.print(_refusals_table("Owners", found["owners"], with_owner=False))
        console.print(_refusals_table("Keys", found["keys"], with_owner=True))
        for note in found["notes"]:
            out.note(note)

    out.emit(found, json_out, render)


__all__ = ["LEVELS", "app", "limit_shorthand", "sparkline"]
