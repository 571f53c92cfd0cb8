"""``keystead incidents exposure`` and ``analytics usage --after-leak``: a leaked
key left working (policy notify), used after its leak, labelled abused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ._support import Cli


def test_a_leaked_key_used_after_its_leak(cli: Cli) -> None:
    cli.json("init")
    cli.json("leaks", "policy", "set", "notify")
    api = cli.json("apis", "create", "leaky", "--prefix", "lk")
    key = cli.json("keys", "create", "--api", api["id"])
    leaked = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    exposed = leaked.isoformat()
    answer = cli.json("leaks", "report", "--exposed-at", exposed, input=f"{key['key']}\n")
    incident_id = answer["items"][0]["incident_id"]
    cli.ok("keys", "verify", key["key"])  # still works: the policy only notifies
    cli.ok("keys", "verify", key["key"])

    found = cli.json("incidents", "exposure", incident_id)
    table = cli.ok("incidents", "exposure", incident_id)
    series = cli.json("analytics", "usage", "--key", key["id"], "--after-leak")
    never = cli.json("keys", "create", "--api", api["id"])

    exposure = found["evidence"]["exposure"]
    assert (exposure["label"], exposure["reasons"]) == ("abused", ["no_history"])
    assert exposure["after"]["requests"] == 2
    assert "abused: used 2 times after the leak (no_history)" in table.stdout
    assert "never used" in table.stdout
    assert series["leaked_at"] == exposed.replace("+00:00", "Z")
    assert series["totals"]["total"] == 2
    refused = cli.fails(1, "analytics", "usage", "--key", never["id"], "--after-leak")
    assert "no leak" in refused.stderr
    assert key["key"] not in cli.everything_printed().replace(key["key"], "", 1)
