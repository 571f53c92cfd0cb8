"""``keystead secrets consumers`` and ``keystead secrets rotation``, on the local store
and against a real ``keystead serve`` (``ready``). The secrets and their reads are
made through the service on the same store (a read by any node is counted there)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.service import Keystead

from ._support import Cli

DAY = 86_400


def _service_settings(request: pytest.FixtureRequest) -> Settings:
    """The settings of the store the CLI talks to: the local one, or the server's."""
    if request.node.callspec.params["ready"] == "local":
        return Settings()
    home: Path = request.getfixturevalue("shared_server").log.parent
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{home / 'server.db'}",
        secret_file=home / "server.secret",
    )


async def _caller(ks: Keystead) -> Principal:
    root_key = os.environ.get("KEYSTEAD_ROOT_KEY")
    if root_key:
        return await ks.root_keys.authenticate(root_key)
    return await ks.workspaces.local_operator()


async def _two_readers(settings: Settings) -> None:
    """Three versions of secret/payments/stripe; "old deploy" reads version 2 and
    keeps reading it, "new deploy" reads version 3."""
    ks = await Keystead.open(settings=settings, create_secret=False)
    try:
        me = await _caller(ks)
        for n in (1, 2):
            await ks.secrets.put(me, "secret", "payments/stripe", {"api_key": f"sk_live_{n}"})
        old = await ks.root_keys.create(me, name="old deploy", permissions=["secrets.read"])
        reader = await ks.root_keys.authenticate(old.plaintext)
        await ks.secrets.get(reader, "secret", "payments/stripe")
        await ks.secrets.put(me, "secret", "payments/stripe", {"api_key": "sk_live_3"})
        new = await ks.root_keys.create(me, name="new deploy", permissions=["secrets.read"])
        await ks.secrets.get(
            await ks.root_keys.authenticate(new.plaintext), "secret", "payments/stripe"
        )
        await ks.secrets.get(reader, "secret", "payments/stripe", 2)
    finally:
        await ks.close()  # the reads reach the store


def test_consumers_answer_who_still_reads_an_old_version(
    ready: Cli, request: pytest.FixtureRequest
) -> None:
    asyncio.run(_two_readers(_service_settings(request)))

    answer = ready.json("secrets", "consumers", "payments/stripe")
    assert answer["current_version"] == 3
    assert [(i["version"], i["name"], i["reads"]) for i in answer["items"]] == [
        (3, "new deploy", 1),
        (2, "old deploy", 2),
    ]
    still = ready.json("secrets", "consumers", "payments/stripe", "--version", "2")
    assert [i["name"] for i in still["items"]] == ["old deploy"]

    table = ready.ok("secrets", "consumers", "payments/stripe").stdout
    assert "Consumers of secret/payments/stripe (current version 3)" in table
    assert "old deploy (ksroot_" in table and "new deploy" in table
    for header in ("Version", "Credential", "First read", "Last read", "Count"):
        assert header in table
    assert "sk_live" not in ready.everything_printed()
    none = ready.ok("secrets", "consumers", "payments/stripe", "--version", "1").stderr
    assert "no recorded reads of secret/payments/stripe v1" in none


def test_consumers_of_a_missing_secret_and_bad_input_fail_cleanly(ready: Cli) -> None:
    assert "no secret at secret/none" in ready.fails(1, "secrets", "consumers", "none").stderr
    ready.fails(2, "secrets", "consumers", "app", "--version", "0")
    result = ready.fails(1, "secrets", "consumers", "a/../b")
    assert "path" in result.stderr


async def _one_secret(settings: Settings) -> None:
    ks = await Keystead.open(settings=settings, create_secret=False)
    try:
        await ks.secrets.put(await _caller(ks), "secret", "db", {"password": "pw"})
    finally:
        await ks.close()


def test_rotation_policies_are_set_shown_and_cleared(
    ready: Cli, request: pytest.FixtureRequest
) -> None:
    asyncio.run(_one_secret(_service_settings(request)))

    assert ready.json("secrets", "rotation", "show", "db")["source"] is None
    policy = ready.json(
        "secrets", "rotation", "set", "db", "--max-age", "90d", "--warn-before", "14d"
    )
    assert (policy["source"], policy["max_age_s"], policy["warn_before_s"]) == (
        "secret",
        90 * DAY,
        14 * DAY,
    )
    shown = ready.ok("secrets", "rotation", "show", "db").stdout
    assert "90d" in shown and "14d" in shown and "Due at" in shown

    mount = ready.json("secrets", "rotation", "set", "--max-age", "30d")
    assert (mount["path"], mount["max_age_s"], mount["source"]) == (None, 30 * DAY, "mount")
    assert "(mount default)" in ready.ok("secrets", "rotation", "show").stdout
    assert ready.json("secrets", "rotation", "clear", "db")["source"] == "mount"
    assert ready.json("secrets", "rotation", "clear")["source"] is None
    assert ready.json("secrets", "rotation", "show", "db")["source"] is None


def test_bad_policies_fail_with_a_message(ready: Cli, request: pytest.FixtureRequest) -> None:
    asyncio.run(_one_secret(_service_settings(request)))
    ready.fails(2, "secrets", "rotation", "set", "db")  # --max-age is required
    assert (
        "--max-age"
        in ready.fails(2, "secrets", "rotation", "set", "db", "--max-age", "soon").stderr
    )
    too_long = ready.fails(
        1, "secrets", "rotation", "set", "db", "--max-age", "1d", "--warn-before", "2d"
    )
    assert "warn_before_s" in too_long.stderr
    json.loads(ready.ok("secrets", "rotation", "show", "db", "--json").stdout)


def test_reads_by_two_tokens_through_a_server_show_as_consumers(
    ready: Cli, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """All through the real server: the writes, the reads by two machine tokens
    (``--root-key-file``), and the question, which the server answers with the
    reads still in its buffer."""
    if request.node.callspec.params["ready"] == "local":
        pytest.skip("machine tokens read through a server; the local store reads as the operator")
    for value in ("sk_live_v1", "sk_live_v2"):
        ready.ok("secrets", "put", "payments/stripe", "api_key=-", input=f"{value}\n")
    tokens = {}
    for name in ("legacy", "current"):
        created = ready.json(
            "root-keys", "create", "--name", name, "-p", "secrets.read:secret/payments/*"
        )
        tokens[name] = tmp_path / f"{name}.key"
        tokens[name].write_text(created["key"], encoding="utf-8")
    as_legacy = ("--root-key-file", str(tokens["legacy"]))
    as_current = ("--root-key-file", str(tokens["current"]))
    for _ in range(2):
        got = ready.ok(
            *as_legacy, "secrets", "get", "payments/stripe", "--version", "1", "--field", "api_key"
        )
        assert got.stdout == "sk_live_v1\n"
    ready.ok(*as_current, "secrets", "get", "payments/stripe", "--field", "api_key")
    refused = ready.fails(1, *as_current, "secrets", "consumers", "payments/stripe")
    assert "secrets.admin" in refused.stderr

    answer = ready.json("secrets", "consumers", "payments/stripe")
    assert [(i["version"], i["name"], i["reads"]) for i in answer["items"]] == [
        (2, "current", 1),
        (1, "legacy", 2),
    ]
    assert "sk_live" not in json.dumps(answer)
