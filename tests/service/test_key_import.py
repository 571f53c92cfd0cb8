"""Importing keys from other systems, on SQLite and PostgreSQL: exports made by the
real peers (djangorestframework-api-key in a Django project of its own, a sha256
table as Unkey and home-grown systems keep, bcrypt from the ``bcrypt`` package),
verified in Keystead and moved to the keyed hash on their first use."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import bcrypt
from pydantic import SecretStr

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code
from keystead.errors import ValidationError
from keystead.service import Keystead

_DRF = Path(__file__).with_name("drf_export.py")


async def _api(ks: Keystead, admin: Principal) -> str:
    return (await ks.apis.create(admin, name="legacy", prefix="acme")).id


def _drf_export(tmp_path: Path, count: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Keys made by djangorestframework-api-key, and the rows it stored."""
    database = tmp_path / "drf.sqlite3"
    made = subprocess.run(
        [sys.executable, str(_DRF), str(database), str(count)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    keys = json.loads(made.stdout)
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        stored = [
            dict(r)
            for r in db.execute(
                "SELECT prefix, hashed_key, name FROM rest_framework_api_key_apikey"
            )
        ]
    return keys, stored


async def test_a_drf_api_key_export_verifies_and_moves_to_the_keyed_hash(
    keystead: Keystead, admin: Principal, tmp_path: Path
) -> None:
    keys, stored = _drf_export(tmp_path, 3)
    assert {r["hashed_key"].partition("$")[0] for r in stored} == {"sha512", "argon2"}
    api_id = await _api(keystead, admin)
    rows = [
        {
            "key_hash": {"scheme": "drf-api-key", "value": r["hashed_key"], "prefix": r["prefix"]},
            "api_id": api_id,
            "external_id": r["prefix"],
            "name": r["name"],
            "owner_id": "cust_1",
            "permissions": ["documents.read"],
        }
        for r in stored
    ]
    report = await keystead.key_import.run(admin, rows)
    assert [r.status for r in report.rows] == ["imported"] * 3
    assert (await keystead.key_import.status(admin)).legacy == 3
    for key in keys:
        verdict = await keystead.verify(key)
        assert verdict.code is Code.VALID, key[:8]
        assert verdict.record is not None
        assert verdict.record.key.owner_id == "cust_1"
        assert verdict.record.key.prefix == key.partition(".")[0]
    assert (await keystead.key_import.status(admin)).legacy == 0
    # moved: found by the keyed hash alone, nothing cached
    keystead._ctx.flush_caches()
    for key in keys:
        assert await keystead.store.find_key(keystead._ctx.hasher.hash(key)) is not None
        assert (await keystead.verify(key)).valid
    wrong = keys[0][:-1] + ("A" if keys[0][-1] != "A" else "B")
    assert (await keystead.verify(wrong)).code is Code.NOT_FOUND


async def test_a_sha256_export_in_hex_and_base64(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    keys = ["sk_live_3ZcXbq9Q8wLmT2vRy7", "unkey_3ZcXbq9Q8wLmT2vRy7pKd", "hk-0123456789abcdef"]
    digests = [hashlib.sha256(k.encode()).digest() for k in keys]
    values = [digests[0].hex(), base64.b64encode(digests[1]).decode(), digests[2].hex().upper()]
    rows = [
        {"key_hash": {"scheme": "sha256", "value": v}, "api_id": api_id, "external_id": f"k{i}"}
        for i, v in enumerate(values)
    ]
    report = await keystead.key_import.run(admin, rows)
    assert [r.status for r in report.rows] == ["imported"] * 3
    for key in keys:
        assert (await keystead.verify(key)).valid
    # a re-run is idempotent by external id: nothing imported twice
    again = await keystead.key_import.run(admin, rows)
    assert [r.status for r in again.rows] == ["skipped"] * 3
    assert [r.key_id for r in again.rows] == [r.key_id for r in report.rows]
    assert (await keystead.key_import.status(admin)).schemes == {"sha256": (3, 0)}


async def test_a_bcrypt_export_needs_a_lookup_and_keeps_metadata(
    keystead: Keystead, admin: Principal
) -> None:
    api_id = await _api(keystead, admin)
    key = "corp_live_Zm9vYmFyYmF6cXV4cXV1eA"
    hashed = bcrypt.hashpw(key.encode(), bcrypt.gensalt(rounds=4)).decode()
    row = {
        "key_hash": {"scheme": "bcrypt", "value": hashed},
        "api_id": api_id,
        "external_id": "legacy-7",
        "meta": {"tier": "gold"},
        "expires_at": "2031-01-01T00:00:00Z",
        "ratelimits": [{"name": "rpm", "limit": 5, "duration_s": 60}],
    }
    refused = await keystead.key_import.run(admin, [row])
    assert refused.rows[0].status == "failed"
    assert isinstance(refused.rows[0].error, ValidationError)
    assert refused.rows[0].error.field == "lookup"
    report = await keystead.key_import.run(admin, [{**row, "lookup": key[:14]}])
    assert report.rows[0].status == "imported"
    created = await keystead.keys.get(admin, str(report.rows[0].key_id))
    assert created.meta == {"tier": "gold"}
    assert created.start == "corp_live_Zm9v"
    assert created.prefix == "corp_live"
    verdict = await keystead.verify(key)
    assert verdict.valid
    assert verdict.limits[0].limit == 5
    assert (await keystead.verify(key[:-1] + "x")).code is Code.NOT_FOUND


async def test_bad_rows_are_reported_and_good_rows_kept(
    keystead: Keystead, admin: Principal
) -> None:
    api_id = await _api(keystead, admin)
    good = "mysvc.9b8a7c6d5e4f3a2b1c0d"
    rows: list[Any] = [
        {"key": good, "api_id": api_id, "external_id": "a"},
        {"key": "has space in it", "api_id": api_id},
        {"key_hash": {"scheme": "md5", "value": "x"}, "api_id": api_id},
        {"key_hash": {"scheme": "sha256", "value": "not-a-digest"}, "api_id": api_id},
        {"key": "another-key-1234", "key_hash": {"scheme": "sha256", "value": "0" * 64}},
        "not an object",
        {"key": "third-key-12345678", "api_id": "api_missing"},
        {"key": good, "api_id": api_id, "external_id": "b"},
        {"key": "fourth-key-1234567", "api_id": api_id, "external_id": "a"},
    ]
    report = await keystead.key_import.run(admin, rows)
    assert [r.status for r in report.rows] == [
        "imported",
        "failed",
        "failed",
        "failed",
        "failed",
        "failed",
        "failed",
        "failed",  # the same key text again
        "failed",  # external id a is on an earlier row
    ]
    assert (await keystead.verify(good)).valid
    assert report.count("imported") == 1
    for result in report.rows:
        assert result.error is None or good not in str(result.error)


async def test_a_dry_run_stores_nothing(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    report = await keystead.key_import.run(
        admin, [{"key": "dry-run-key-123456", "api_id": api_id}], dry_run=True
    )
    assert report.rows[0].status == "valid"
    assert (await keystead.verify("dry-run-key-123456")).code is Code.MALFORMED
    assert (await keystead.key_import.status(admin)).schemes == {}


async def test_malformed_keys_are_refused_before_any_lookup(
    keystead: Keystead, admin: Principal
) -> None:
    api_id = await _api(keystead, admin)
    native = (await keystead.keys.create(admin, api_id=api_id)).plaintext
    await keystead.key_import.run(admin, [{"key": "other.0123456789abcdef", "api_id": api_id}])
    before = keystead._ctx.keys.__len__()
    # Keystead's shape with a wrong checksum, and a prefix no imported key has
    mistyped = native[:-1] + ("0" if native[-1] != "0" else "1")
    for bad in (mistyped, "x", "with space 123456789", "a" * 300):
        assert (await keystead.verify(bad)).code is Code.MALFORMED
    assert len(keystead._ctx.keys) == before  # nothing looked up, nothing cached
    assert (await keystead.verify("other.0123456789abcdef")).valid
    assert (await keystead.verify(native)).valid


async def test_an_imported_key_rotates_to_a_keystead_key(
    keystead: Keystead, admin: Principal
) -> None:
    api_id = await _api(keystead, admin)
    report = await keystead.key_import.run(
        admin, [{"key": "Old.Key-0123456789", "api_id": api_id, "permissions": ["a.b"]}]
    )
    rotated = await keystead.rotation.rotate(admin, str(report.rows[0].key_id))
    assert rotated.new.plaintext.startswith("acme_")
    assert rotated.new.key.permissions == ("a.b",)
    assert (await keystead.verify(rotated.new.plaintext)).valid
    assert (await keystead.verify("Old.Key-0123456789")).valid  # in its grace


async def test_an_hmac_sha256_export_needs_the_old_systems_key(
    keystead: Keystead, admin: Principal, settings: Settings, clock: ManualClock
) -> None:
    key, old_secret = "svc-7f3a9c2e5b1d4f60", "the old system's HMAC key"
    digest = hmac.new(old_secret.encode(), key.encode(), hashlib.sha256).hexdigest()
    api_id = await _api(keystead, admin)
    row = {"key_hash": {"scheme": "hmac-sha256", "value": digest}, "api_id": api_id}
    refused = await keystead.key_import.run(admin, [row])
    assert refused.rows[0].status == "failed"
    assert "KEYSTEAD_IMPORT_HMAC_SECRET" in str(refused.rows[0].error)
    await keystead.close()
    configured = settings.model_copy(update={"import_hmac_secret": SecretStr(old_secret)})
    ks = await Keystead.open(settings=configured, clock=clock)
    try:
        operator = await ks.workspaces.local_operator()
        assert (await ks.key_import.run(operator, [row])).rows[0].status == "imported"
        assert (await ks.verify(key)).valid
        assert (await ks.verify(key + "0")).code is Code.NOT_FOUND
        assert (await ks.key_import.status(operator)).schemes == {"hmac-sha256": (1, 0)}
    finally:
        await ks.close()


async def test_two_nodes_verifying_a_first_use_at_once_move_it_once(
    keystead: Keystead, admin: Principal, settings: Settings, clock: ManualClock
) -> None:
    api_id = await _api(keystead, admin)
    key = "legacy-two-nodes-0123456789"
    digest = hashlib.sha256(key.encode()).hexdigest()
    row = {"key_hash": {"scheme": "sha256", "value": digest}, "api_id": api_id}
    other = await Keystead.open(settings=settings, clock=clock)  # another node, same store
    try:
        await keystead.key_import.run(admin, [row])
        await other.key_import.refresh()  # what its periodic refresh does
        verdicts = await asyncio.gather(keystead.verify(key), other.verify(key))
        assert [v.code for v in verdicts] == [Code.VALID, Code.VALID]
        assert (await keystead.key_import.status(admin)).schemes == {"sha256": (1, 0)}
        other._ctx.flush_caches()
        assert (await other.verify(key)).valid
    finally:
        await other.close()
