"""``keystead leaks``: report tokens from stdin or a file, list and show the leaks,
get and set the policy; local and against a real ``keystead serve``."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ._support import Cli

URL = "https://github.com/acme/app/blob/abc/settings.py"


def test_report_list_show(ready: Cli, tmp_path: Path) -> None:
    api = ready.json("apis", "create", "leaky", "--prefix", "lk")
    live = ready.json("keys", "create", "--api", api["id"])
    gone = ready.json("keys", "create", "--api", api["id"])
    ready.ok("keys", "revoke", gone["id"], "--yes")

    answer = ready.json(
        "leaks", "report", "--url", URL, "--source", "scanner", input=f"{live['key']}\nnope\n"
    )
    listing = tmp_path / "tokens.txt"
    listing.write_text(f"{gone['key']}\n{live['key']}\n")
    table = ready.ok("leaks", "report", "--file", str(listing))

    assert [(i["status"], i["outcome"]) for i in answer["items"]] == [
        ("live", "revoked"),
        ("unknown", "unknown"),
    ]
    assert answer["items"][0]["token_hash"] == hashlib.sha256(live["key"].encode()).hexdigest()
    assert "already_revoked" in table.stdout and "live" in table.stdout
    assert ready.run("keys", "verify", live["key"]).exit_code == 1
    leaks = ready.json("leaks", "list")["items"]
    assert {leak["key_id"] for leak in leaks} == {live["id"], gone["id"]}
    shown = ready.json("leaks", "show", answer["items"][0]["leak_id"])
    assert (shown["url"], shown["source"], shown["outcome"]) == (URL, "scanner", "revoked")
    incident = ready.json("incidents", "show", shown["incident_id"])
    assert incident["evidence"]["leak"]["url"] == URL
    printed = ready.everything_printed()
    assert live["key"] not in printed.replace(live["key"], "", 1)  # only the creation shows it


def test_policy_get_set_clear(ready: Cli) -> None:
    api = ready.json("apis", "create", "leaky", "--prefix", "lk")

    assert ready.json("leaks", "policy", "get")["effective"]["action"] == "revoke"
    ready.json("leaks", "policy", "set", "notify", "--no-notify")
    view = ready.json(
        "leaks", "policy", "set", "rotate", "--api", api["id"], "--grace-period-s", "300"
    )
    table = ready.ok("leaks", "policy", "get", "--api", api["id"])
    cleared = ready.json("leaks", "policy", "clear", "--api", api["id"])

    assert view["effective"] == {
        "api_id": api["id"],
        "action": "rotate",
        "grace_period_s": 300,
        "replace": False,
        "notify": True,
    }
    assert view["workspace"]["action"] == "notify" and view["workspace"]["notify"] is False
    assert "rotate" in table.stdout and "notify" in table.stdout
    assert cleared["effective"]["action"] == "notify"
    refused = ready.fails(1, "leaks", "policy", "set", "notify", "--replace")
    assert "replace" in refused.stderr


def test_report_needs_tokens(ready: Cli, tmp_path: Path) -> None:
    ready.fails(2, "leaks", "report", "--file", str(tmp_path / "missing.txt"))
    ready.fails(2, "leaks", "report", input="\n\n")
