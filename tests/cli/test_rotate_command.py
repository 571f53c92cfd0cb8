"""``keystead keys rotate``: one key with a grace, an emergency, and --due --dry-run,
locally and against a server."""

from __future__ import annotations

import json

from ._support import KEY_PATTERN, Cli


def test_rotate_one_key_then_the_old_one_names_its_successor(cli_any: Cli) -> None:
    cli = cli_any
    cli.json("init")
    api = cli.json("apis", "create", "billing", "--prefix", "bill")
    old = cli.json("keys", "create", "--api", api["id"], "--owner", "acme", "-p", "a.b")
    rotated = cli.json("keys", "rotate", old["id"], "--grace", "1h")
    assert rotated["key"].startswith("bill_") and rotated["key"] != old["key"]
    assert (rotated["rotated_from"], rotated["old_key"]["rotated_to"]) == (old["id"], rotated["id"])
    assert (rotated["owner_id"], rotated["permissions"]) == ("acme", ["a.b"])
    assert cli.json("keys", "verify", old["key"])["valid"] is True  # in its grace

    emergency = cli.json("keys", "rotate", rotated["id"], "--grace", "0")
    answer = cli.run("keys", "verify", rotated["key"], "--json")
    assert answer.exit_code == 1
    verdict = json.loads(answer.stdout)
    assert (verdict["code"], verdict["reason"]) == ("EXPIRED", "rotated")
    assert verdict["rotated_to"] == emergency["id"]

    cli.fails(1, "keys", "rotate", rotated["id"])  # rotated already
    cli.fails(2, "keys", "rotate", old["id"], "--grace", "soon")
    cli.fails(2, "keys", "rotate", old["id"], "--grace", "1h", "--old-expires-at", "2030-01-01")
    cli.fails(2, "keys", "rotate")
    cli.fails(2, "keys", "rotate", "--dry-run")
    # the human output shows the successor once, with the old key's end
    shown = cli.ok("keys", "rotate", emergency["id"], "--grace", "5m").stdout
    assert len(KEY_PATTERN.findall(shown)) == 1
    assert "works until" in shown


def test_due_dry_run_lists_keys_past_their_policy_age(cli_any: Cli) -> None:
    cli = cli_any
    cli.json("init")
    api = cli.json("apis", "create", "aging")
    cli.json("keys", "create", "--api", api["id"])
    listed = cli.json("keys", "rotate", "--due", "--dry-run")
    assert listed == {"dry_run": True, "items": []}
    assert "No key is due" in cli.ok("keys", "rotate", "--due", "--dry-run").stdout
    cli.fails(2, "keys", "rotate", "key_x", "--due")


def test_rotation_policies_are_set_shown_and_cleared(cli_any: Cli) -> None:
    cli = cli_any
    cli.json("init")
    policy = '{"max_age_s": 7776000, "warn_before_s": 86400}'
    api = cli.json("apis", "create", "aging", "--rotation-policy", policy)
    assert api["rotation_policy"] == {
        "max_age_s": 7776000,
        "grace_period_s": 86400,
        "warn_before_s": 86400,
    }
    key = cli.json("keys", "create", "--api", api["id"], "--rotation-policy", '{"max_age_s": 60}')
    assert key["rotation_policy"]["max_age_s"] == 60
    cleared = cli.json("keys", "update", key["id"], "--clear-rotation-policy")
    assert cleared["rotation_policy"] is None
    updated = cli.json("apis", "update", api["id"], "--clear-rotation-policy")
    assert updated["rotation_policy"] is None
    cli.fails(1, "apis", "update", api["id"], "--rotation-policy", '{"max_age_s": 5}')
    cli.fails(1, "keys", "create", "--api", api["id"], "--rotation-policy", '{"every": 1}')
    cli.fails(2, "keys", "update", key["id"], "--rotation-policy", "{", "--json")
