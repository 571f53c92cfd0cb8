"""The leak rows and policies in the store, on SQLite and PostgreSQL: one leak per
key (a second claim gets the first), a stale claim taken over once, a failed one
released, policies upserted per workspace and API."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from keystead.core.authz import Principal
from keystead.service import Keystead
from keystead.store.custody import Scope
from keystead.store.leaks import LeakPolicy, LeakRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _leak(workspace_id: str, key_id: str, leak_id: str, outcome: str = "pending") -> LeakRecord:
    return LeakRecord(
        id=leak_id,
        workspace_id=workspace_id,
        key_id=key_id,
        token_hash="ab" * 32,
        token_type="keystead",
        source="scanner",
        url="https://x.test/a",
        exposed_at=NOW - timedelta(days=1),
        reported_at=NOW,
        outcome=outcome,
        incident_id=None,
        reported_by="leak:test",
    )


async def _key_ids(ks: Keystead, admin: Principal) -> tuple[str, str, str]:
    api = await ks.apis.create(admin, name="stored", prefix="st")
    other = await ks.apis.create(admin, name="other", prefix="ot")
    first = await ks.keys.create(admin, api_id=api.id)
    second = await ks.keys.create(admin, api_id=other.id)
    return api.id, first.key.id, second.key.id


async def test_one_leak_per_key(keystead: Keystead, admin: Principal) -> None:
    store, ws = keystead.store, admin.workspace_id
    api_id, key_id, other_key = await _key_ids(keystead, admin)
    first = _leak(ws, key_id, "lk_0000000001AAAAAAAAAAAAAAAA")

    assert await store.claim_leak(first) is None
    again = await store.claim_leak(replace(first, id="lk_0000000002AAAAAAAAAAAAAAAA"))
    assert again == first
    assert await store.claim_leak(_leak(ws, other_key, "lk_0000000003AAAAAAAAAAAAAAAA")) is None
    done = await store.finish_leak(ws, first.id, {"outcome": "revoked", "incident_id": "inc_1"})
    assert done is not None and (done.outcome, done.incident_id) == ("revoked", "inc_1")
    assert await store.leak_of(ws, key_id) == done
    assert await store.leak_of("ws_elsewhere", key_id) is None
    everything = await store.list_leaks(ws, Scope(), key_id=None, after=None, limit=10)
    assert [leak.key_id for leak in everything] == [key_id, other_key]
    narrowed = Scope(api_ids=frozenset({api_id}))
    assert [leak.key_id for leak in await store.list_leaks(
        ws, narrowed, key_id=None, after=None, limit=10
    )] == [key_id]  # fmt: skip
    assert await store.get_leak(ws, "lk_0000000003AAAAAAAAAAAAAAAA", narrowed) is None
    assert await store.get_leak(ws, first.id, narrowed) == done


async def test_a_stale_claim_is_taken_over_once_and_a_failed_one_released(
    keystead: Keystead, admin: Principal
) -> None:
    store, ws = keystead.store, admin.workspace_id
    _, key_id, other_key = await _key_ids(keystead, admin)
    claim = _leak(ws, key_id, "lk_0000000001AAAAAAAAAAAAAAAA")
    await store.claim_leak(claim)

    assert not await store.retake_leak(ws, claim.id, NOW - timedelta(seconds=60), NOW)
    later = NOW + timedelta(minutes=5)
    assert await store.retake_leak(ws, claim.id, later - timedelta(seconds=60), later)
    assert not await store.retake_leak(ws, claim.id, later - timedelta(seconds=60), later)

    final = _leak(ws, other_key, "lk_0000000002AAAAAAAAAAAAAAAA", outcome="revoked")
    await store.claim_leak(final)
    await store.release_leak(ws, final.id)  # final: kept
    await store.release_leak(ws, claim.id)  # pending: dropped
    assert await store.leak_of(ws, other_key) == final
    assert await store.leak_of(ws, key_id) is None


async def test_policies_of_the_workspace_and_its_apis(keystead: Keystead, admin: Principal) -> None:
    store, ws = keystead.store, admin.workspace_id
    api_id, _, _ = await _key_ids(keystead, admin)
    workspace = LeakPolicy(ws, None, "notify", None, False, False, NOW)
    api = LeakPolicy(ws, api_id, "rotate", 600, False, True, NOW)

    assert await store.put_leak_policy(workspace) == workspace
    assert await store.put_leak_policy(api) == api
    changed = await store.put_leak_policy(replace(api, grace_period_s=60))
    assert changed.grace_period_s == 60
    assert await store.list_leak_policies(ws) == [workspace, changed]
    assert await store.list_leak_policies("ws_elsewhere") == []
    assert await store.delete_leak_policy(ws, api_id)
    assert not await store.delete_leak_policy(ws, api_id)
    assert await store.list_leak_policies(ws) == [workspace]
