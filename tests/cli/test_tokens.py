"""``keystead tokens``: issue a token from a key read from stdin, a file or the
environment (never an argument), introspect and revoke it, list and rotate signing
keys, show and change the policy; local and against a real ``keystead serve``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ._support import Cli


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def _key(cli: Cli) -> tuple[str, dict[str, Any]]:
    api = cli.json("apis", "create", "tokens")
    key = cli.json("keys", "create", "--api", api["id"], "--permission", "docs.read")
    return api["id"], key


def test_issue_introspect_revoke(ready: Cli, tmp_path: Path) -> None:
    api_id, key = _key(ready)
    issued = ready.json("tokens", "issue", "--ttl", "60", input=key["key"] + "\n")
    assert (issued["token_type"], issued["expires_in"], issued["permissions"]) == (
        "Bearer",
        60,
        ["docs.read"],
    )
    token = issued["token"]
    assert _claims(token)["sub"] == key["id"]

    plain = ready.ok("tokens", "issue", input=key["key"])
    assert plain.stdout.strip().count(".") == 2  # the token alone on stdout
    key_file = tmp_path / "key.txt"
    key_file.write_text(key["key"] + "\n")
    from_file = ready.json("tokens", "issue", "--key-file", str(key_file))
    assert from_file["jti"] != issued["jti"]

    active = ready.json("tokens", "introspect", input=token)
    assert active["active"] is True and active["jti"] == issued["jti"]
    revoked = ready.json("tokens", "revoke", api_id, issued["jti"])
    assert revoked["revoked"] is True
    gone = ready.run("tokens", "introspect", "--json", input=token)
    assert gone.exit_code == 1 and json.loads(gone.stdout) == {"active": False}
    printed = ready.everything_printed()
    assert printed.count(key["key"]) == 1  # shown at its creation only


def test_issue_reads_the_key_from_the_environment(
    ready: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = _key(ready)
    monkeypatch.setenv("KEYSTEAD_API_KEY", key["key"])
    assert ready.json("tokens", "issue")["permissions"] == ["docs.read"]


def test_issue_refusals(ready: Cli) -> None:
    _, key = _key(ready)
    ready.fails(2, "tokens", "issue", input="")
    assert "401" in ready.fails(1, "tokens", "issue", input="ks_" + "A" * 40).stderr
    beyond = ready.fails(1, "tokens", "issue", "--permission", "admin.all", input=key["key"])
    assert "403" in beyond.stderr
    ready.fails(2, "tokens", "issue", "--claims", "[1]", input=key["key"])


def test_signing_keys(ready: Cli) -> None:
    api_id, key = _key(ready)
    first = ready.json("tokens", "issue", input=key["key"])["kid"]
    rotated = ready.json("tokens", "keys", "rotate", api_id, "--algorithm", "ES256")
    assert (rotated["algorithm"], rotated["signing"]) == ("ES256", True)
    listed = ready.json("tokens", "keys", "list", api_id)["items"]
    assert {k["kid"] for k in listed} >= {first, rotated["kid"]}
    table = ready.ok("tokens", "keys", "list", api_id).stdout
    assert rotated["kid"] in table and "ES256" in table


def test_policy_show_and_set(ready: Cli) -> None:
    api_id, key = _key(ready)
    assert ready.json("tokens", "policy", "show", api_id)["max_ttl_s"] == 3600
    changed = ready.json(
        "tokens",
        "policy",
        "set",
        api_id,
        "--ttl",
        "120",
        "--max-ttl",
        "600",
        "--audience",
        "billing",
        "--include-meta",
    )
    assert (changed["default_ttl_s"], changed["max_ttl_s"], changed["audiences"]) == (
        120,
        600,
        ["billing"],
    )
    assert changed["include_meta"] is True and changed["algorithm"] == "EdDSA"  # kept
    issued = ready.json("tokens", "issue", "--audience", "billing", input=key["key"])
    assert (_claims(issued["token"])["aud"], issued["expires_in"]) == ("billing", 120)
    shown = ready.ok("tokens", "policy", "show", api_id).stdout
    assert "billing" in shown and "600" in shown
    cleared = ready.json("tokens", "policy", "set", api_id, "--clear-audiences")
    assert (cleared["audiences"], cleared["max_ttl_s"]) == ([], 600)
    ready.fails(2, "tokens", "policy", "set", api_id)
    ready.fails(2, "tokens", "policy", "set", api_id, "--audience", "a", "--clear-audiences")
    ready.fails(1, "tokens", "policy", "set", api_id, "--ttl", "5000")
