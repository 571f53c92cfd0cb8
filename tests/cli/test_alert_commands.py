"""``keystead alerts``: rules, evaluation and alert states, locally and against
a server."""

from __future__ import annotations

from serving import Server

from ._support import Cli
from .test_remote import remote, server  # noqa: F401 - fixtures


def test_rules_and_alerts_locally(ready_local: Cli) -> None:
    api = ready_local.json("apis", "create", "watched", "--prefix", "wa")
    key = ready_local.json("keys", "create", "--api", api["id"])
    ready_local.json("keys", "revoke", key["id"], "--yes")
    rule = ready_local.json(
        "alerts", "rules", "create", "--name", "dead", "--kind", "revoked_use",
        "--severity", "critical", "--action", "disable",
    )  # fmt: skip
    assert (rule["kind"], rule["severity"], rule["action"]) == (
        "revoked_use",
        "critical",
        "disable",
    )
    ready_local.fails(1, "alerts", "rules", "create", "--name", "t", "--kind", "threshold")
    assert [r["id"] for r in ready_local.json("alerts", "rules", "list")["items"]] == [rule["id"]]
    ready_local.ok("alerts", "rules", "list")  # the table renders

    assert ready_local.run("keys", "verify", key["key"], "--ip", "192.0.2.3").exit_code == 1
    raised = ready_local.json("alerts", "evaluate")["items"]
    assert [(a["scope_id"], a["status"]) for a in raised] == [(key["id"], "open")]
    alert_id = raised[0]["id"]
    assert (
        ready_local.json("alerts", "list", "--severity", "critical")["items"][0]["id"] == alert_id
    )
    shown = ready_local.json("alerts", "show", alert_id)
    assert shown["evidence"]["records"][0]["ip"] == "192.0.2.3"
    assert "Evidence" in ready_local.ok("alerts", "show", alert_id).stdout
    assert ready_local.json("alerts", "ack", alert_id)["status"] == "acknowledged"
    assert ready_local.json("alerts", "resolve", alert_id)["status"] == "resolved"
    assert ready_local.json("alerts", "list", "--status", "open")["items"] == []
    ready_local.ok("alerts", "list")
    ready_local.json("alerts", "rules", "delete", rule["id"], "--yes")
    assert ready_local.json("alerts", "rules", "list")["items"] == []
    assert ready_local.everything_printed().count(key["key"]) == 1  # shown once, when created


def test_through_the_server(remote: Cli, server: Server) -> None:  # noqa: F811
    rule = remote.json(
        "alerts", "rules", "create", "--name", "busy", "--kind", "threshold", "--metric",
        "requests", "--comparator", ">", "--value", "100", "--window", "10",
    )  # fmt: skip
    assert (rule["metric"], rule["window_minutes"], rule["value"]) == ("requests", 10, 100)
    assert remote.json("alerts", "rules", "list")["items"][0]["id"] == rule["id"]
    assert remote.json("alerts", "list")["items"] == []
    remote.fails(2, "alerts", "evaluate")  # a usage problem: not remotely
    remote.fails(1, "alerts", "show", "alr_0000000000AAAAAAAAAAAAAAAA")
    remote.json("alerts", "rules", "delete", rule["id"], "--yes")
