"""``keystead analytics usage|top``: tables with a sparkline, ``--json``, errors,
locally (SQLite and PostgreSQL) and against a server."""

from __future__ import annotations

from keystead.cli.analytics import LEVELS, sparkline
from serving import Server

from ._support import Cli
from .test_remote import remote, server  # noqa: F401 - fixtures


def test_sparkline_scales_to_the_peak() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([0, 1, 7, 14]) == "▁▂▅█"  # any use shows above nothing
    assert sparkline([5]) == "█"
    assert set(sparkline(list(range(100)))) == set(LEVELS)


def _used(cli: Cli) -> dict[str, str]:
    cli.json("init")
    api = cli.json("apis", "create", "charted", "--prefix", "ch")
    created = cli.json("keys", "create", "--api", api["id"], "--owner", "dana")
    for ip in ("192.0.2.7", "192.0.2.7", "192.0.2.8"):
        cli.ok("keys", "verify", created["key"], "--ip", ip, "--user-agent", "curl/8",
               "--path", "/p")  # fmt: skip
    return {"api_id": api["id"], "key_id": created["id"]}


def test_usage_and_top_locally(cli_any: Cli) -> None:
    ids = _used(cli_any)
    series = cli_any.json("analytics", "usage", "--key", ids["key_id"])
    assert (series["scope"], series["granularity"]) == ("key", "hour")
    assert series["totals"]["total"] == 3 and series["totals"]["success"] == 3
    assert sum(b["total"] for b in series["buckets"]) == 3
    assert series["totals"]["distinct_ips"] == 2
    table = cli_any.ok("analytics", "usage", "--api", ids["api_id"], "-g", "day").stdout
    assert "Usage of api" in table and "Valid" in table
    assert "█" in table  # the busiest bucket's volume, in the table and the summary
    assert "volume" in table and "total 3" in table

    top = cli_any.json("analytics", "top", "--owner", "dana", "--by", "ip", "--limit", "1")
    assert top["items"] == [{"value": "192.0.2.7", "count": 2}]
    shown = cli_any.ok("analytics", "top", "--key", ids["key_id"]).stdout
    assert "192.0.2.7" in shown and "192.0.2.8" in shown and "█" in shown
    quiet = cli_any.ok("analytics", "top", "--key", ids["key_id"], "--from", "2020-01-01",
                       "--to", "2020-01-02")  # fmt: skip
    assert "no usage" in quiet.stderr


def test_bad_input_fails_cleanly(cli: Cli) -> None:
    ids = _used(cli)
    cli.fails(1, "analytics", "usage")
    cli.fails(1, "analytics", "usage", "--key", ids["key_id"], "--api", ids["api_id"])
    cli.fails(1, "analytics", "usage", "--key", ids["key_id"], "-g", "week")
    cli.fails(1, "analytics", "usage", "--key", ids["key_id"], "--from", "2030-01-01")
    cli.fails(1, "analytics", "top", "--key", ids["key_id"], "--by", "referrer")
    cli.fails(1, "analytics", "top", "--key", "key_0000000000AAAAAAAAAAAAAAAA")
    cli.fails(2, "analytics", "top", "--key", ids["key_id"], "--limit", "500")


def test_through_the_server(remote: Cli, server: Server) -> None:  # noqa: F811
    api = remote.json("apis", "create", "charted-remote")
    span = ("--from", "2025-01-01T00:00:00Z", "--to", "2025-01-01T03:00:00Z")
    series = remote.json("analytics", "usage", "--api", api["id"], *span)
    assert [b["total"] for b in series["buckets"]] == [0, 0, 0]
    assert series["from"] == "2025-01-01T00:00:00Z"
    assert "▁▁▁" in remote.ok("analytics", "usage", "--api", api["id"], *span).stdout
    top = remote.json("analytics", "top", "--api", api["id"], "--by", "path", *span)
    assert top["items"] == []
    remote.fails(1, "analytics", "usage", "--api", api["id"], "--owner", "x")
