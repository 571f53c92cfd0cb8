"""The custody commands: owner public keys, pickups, keys act/actions/compromise
and incidents; and the remote backend answering the local one's shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from ._support import KEY_PATTERN, Cli

REASON = "seen in a public paste"


def _act(cli: Cli, key_id: str, action: str, *extra: str) -> dict[str, Any]:
    args = ["keys", "act", key_id, "--action", action, "--source", "alert", "--reason", REASON]
    answer: dict[str, Any] = cli.json(*args, *extra)
    return answer


def test_owner_public_key_commands(ready: Cli, tmp_path: Path) -> None:
    private = ECKey.generate_key("P-384")
    public_file, private_file = tmp_path / "pub.json", tmp_path / "priv.json"
    public_file.write_text(json.dumps(private.as_dict(private=False)))
    private_file.write_text(json.dumps(private.as_dict(private=True)))
    (tmp_path / "junk.json").write_text("{not json")

    owner = ready.json("owners", "set-public-key", "acme", "--jwk-file", str(public_file))
    shown = ready.json("owners", "show", "acme")
    refused = ready.fails(1, "owners", "set-public-key", "acme", "--jwk-file", str(private_file))
    ready.fails(2, "owners", "set-public-key", "acme", "--jwk-file", str(tmp_path / "junk.json"))
    ready.fails(2, "owners", "set-public-key", "acme", "--jwk-file", str(tmp_path / "none.json"))
    removed = ready.json("owners", "remove-public-key", "acme")

    assert owner["public_jwk"] == private.as_dict(private=False)
    assert shown["public_jwk"] == owner["public_jwk"]
    assert "jwk.d" in refused.stderr
    assert removed["public_jwk"] is None
    ready.fails(1, "owners", "remove-public-key", "nobody")


def test_rotate_by_event_then_claim_the_pickup(ready: Cli) -> None:
    api = ready.json("apis", "create", "events", "--prefix", "ev")
    old = ready.json("keys", "create", "--api", api["id"])

    done = _act(ready, old["id"], "emergency_rotate", "--yes")
    listed = ready.json("pickups", "list")["items"]
    claimed = ready.json("pickups", "claim", done["result"]["pickup_id"])
    again = ready.fails(1, "pickups", "claim", done["result"]["pickup_id"])

    assert done["state"] == "expired" and done["cause"]["source"] == "alert"
    assert [(p["id"], p["state"]) for p in listed] == [(done["result"]["pickup_id"], "pending")]
    assert claimed["format"] == "sealed" and claimed["jwe"] is None
    assert ready.json("keys", "verify", claimed["key"])["key_id"] == done["result"]["new_key_id"]
    assert ready.run("keys", "verify", old["key"]).exit_code == 1
    assert "claimed already" in again.stderr
    history = ready.json("keys", "actions", old["id"])["items"]
    assert [a["action"] for a in history] == ["emergency_rotate"]


def test_claim_prints_the_key_once_for_people(ready: Cli) -> None:
    api = ready.json("apis", "create", "people")
    old = ready.json("keys", "create", "--api", api["id"])
    pickup_id = _act(ready, old["id"], "rotate")["result"]["pickup_id"]

    claimed = ready.ok("pickups", "claim", pickup_id)
    listed = ready.ok("pickups", "list")

    keys = KEY_PATTERN.findall(claimed.stdout)
    assert len(keys) == 1
    assert "only time" in claimed.stdout
    assert keys[0] not in listed.stdout


def test_disable_and_revoke_by_event(ready: Cli) -> None:
    api = ready.json("apis", "create", "acts")
    key = ready.json("keys", "create", "--api", api["id"])

    disabled = _act(ready, key["id"], "disable", "--reference", "AL-9")
    shown = ready.ok("keys", "actions", key["id"])
    revoked = _act(ready, key["id"], "revoke", "--yes")

    assert disabled["state"] == "disabled" and disabled["cause"]["reference"] == "AL-9"
    assert "disable" in shown.stdout and REASON in shown.stdout
    assert revoked["state"] == "revoked"
    verdict = ready.run("keys", "verify", key["key"], "--json")
    assert json.loads(verdict.stdout)["code"] == "REVOKED"
    ready.fails(
        2, "keys", "act", key["id"], "--action", "explode", "--source", "a", "--reason", "b"
    )
    ready.fails(1, *["keys", "act", key["id"], "--action", "disable"], "--source", "a b",
                "--reason", "x")  # fmt: skip


def test_compromise_and_incidents(ready: Cli) -> None:
    api = ready.json("apis", "create", "breach")
    key = ready.json("keys", "create", "--api", api["id"])

    report = ready.ok("keys", "compromise", key["id"], "--replace", "--reason", REASON)

    lines = report.stdout
    assert f"Key {key['id']}: revoked now." in lines
    assert "Notified: key.compromised queued for the webhooks." in lines
    replacement = KEY_PATTERN.findall(lines)
    assert len(replacement) == 1
    assert ready.json("keys", "verify", replacement[0])["valid"] is True
    assert ready.run("keys", "verify", key["key"]).exit_code == 1
    incidents = ready.json("incidents", "list")["items"]
    assert len(incidents) == 1 and incidents[0]["key_id"] == key["id"]
    incident_id = incidents[0]["id"]
    assert incident_id in lines
    shown = ready.json("incidents", "show", incident_id)
    assert shown["evidence"]["key"]["key_id"] == key["id"]
    human = ready.ok("incidents", "show", incident_id)
    assert "Evidence" in human.stdout and replacement[0] not in human.stdout
    updated = ready.json("incidents", "update", incident_id, "--status", "investigating",
                         "--notes", "calling the customer")  # fmt: skip
    assert (updated["status"], updated["notes"]) == ("investigating", "calling the customer")
    cleared = ready.json("incidents", "update", incident_id, "--clear-notes")
    assert cleared["notes"] is None
    assert ready.json("incidents", "list", "--status", "open")["items"] == []
    ready.fails(2, "incidents", "update", incident_id)
    ready.fails(2, "incidents", "list", "--status", "closed")
    again = ready.json("keys", "compromise", key["id"], "--no-notify")
    assert again["already_revoked"] is True and again["notified"] is False
    assert again["replacement"] is None


def test_owner_scoped_root_key(ready: Cli) -> None:
    created = ready.json("root-keys", "create", "--owner", "acme", "-p", "keys.pickup")
    listed = ready.json("root-keys", "list")["items"]

    assert created["owner_id"] == "acme"
    assert [r["owner_id"] for r in listed if r["id"] == created["id"]] == ["acme"]
