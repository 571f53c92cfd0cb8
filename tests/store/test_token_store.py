"""Token signing keys and denials on SQLite and PostgreSQL: one signing key per API
(rotation is a check-and-set), denials ordered by a seq that is never given twice,
a denial pended before a change commits with it (and not without it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from keystead.errors import Conflict
from keystead.service import Keystead
from keystead.store.sql import SqlStore
from keystead.store.tokens import DenialRecord, SigningKeyRecord, pend_denial

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def signing_key(kid: str, api_id: str = "api_1", at: datetime = T0) -> SigningKeyRecord:
    return SigningKeyRecord(
        id=kid,
        workspace_id="ws_1",
        api_id=api_id,
        algorithm="EdDSA",
        public_jwk={"kty": "OKP", "crv": "Ed25519", "x": "AA", "kid": kid},
        sealed=b"\x02sealed",
        key_version=1,
        created_at=at,
        publish_until=at + timedelta(hours=1),
    )


def denial(
    subject: str, *, kind: str = "jti", api_id: str = "api_1", at: float = 100.0
) -> DenialRecord:
    return DenialRecord("ws_1", api_id, kind, subject, not_before=at, expires_at=at + 60)


async def test_rotation_is_a_check_and_set(keystead: Keystead) -> None:
    store = keystead.store
    assert await store.add_signing_key(signing_key("tsk_a"), expected=None)
    assert not await store.add_signing_key(signing_key("tsk_b"), expected=None)
    later = T0 + timedelta(minutes=5)
    assert await store.add_signing_key(signing_key("tsk_c", at=later), expected="tsk_a")
    assert not await store.add_signing_key(signing_key("tsk_d", at=later), expected="tsk_a")
    found = await store.list_signing_keys("api_1")
    assert [k.id for k in found] == ["tsk_c", "tsk_a"]
    assert found[0].retired_at is None and found[0].public_jwk is not None
    assert found[1].retired_at == later and found[1].publish_until == later + timedelta(hours=1)
    assert await store.list_signing_keys("api_other") == []
    assert [k.id for k in await store.list_signing_keys(None)] == ["tsk_c", "tsk_a"]


async def test_concurrent_first_keys_leave_one_signing(keystead: Keystead) -> None:
    store = keystead.store
    added = await asyncio.gather(
        *(store.add_signing_key(signing_key(f"tsk_{n}"), expected=None) for n in range(4))
    )
    assert added.count(True) == 1
    current = [k for k in await store.list_signing_keys("api_1") if k.retired_at is None]
    assert len(current) == 1


async def test_retired_keys_are_dropped_after_publish_until(keystead: Keystead) -> None:
    store = keystead.store
    await store.add_signing_key(signing_key("tsk_a"), expected=None)
    await store.add_signing_key(signing_key("tsk_b", at=T0), expected="tsk_a")
    assert await store.drop_signing_keys(T0 + timedelta(minutes=59)) == []
    dropped = await store.drop_signing_keys(T0 + timedelta(hours=2))
    assert [k.id for k in dropped] == ["tsk_a"]
    assert [k.id for k in await store.list_signing_keys("api_1")] == ["tsk_b"]


async def test_a_second_denial_moves_forward_with_a_new_seq(keystead: Keystead) -> None:
    store = keystead.store
    first = await store.put_denials([denial("key_1", kind="key"), denial("tok_1")])
    assert [d.seq for d in first] == sorted(d.seq for d in first) and first[0].seq > 0
    again = await store.put_denials([denial("key_1", kind="key", at=200.0)])
    assert again[0].seq > first[1].seq
    listed = await store.list_denials("api_1")
    assert [(d.subject, d.not_before) for d in listed] == [("tok_1", 100.0), ("key_1", 200.0)]
    assert [d.subject for d in await store.list_denials("api_1", after=first[1].seq)] == ["key_1"]
    older = await store.put_denials([denial("key_1", kind="key", at=150.0)])
    assert older[0].not_before == 200.0  # never moved back


async def test_prune_keeps_each_apis_latest_seq(keystead: Keystead) -> None:
    store = keystead.store
    await store.put_denials([denial("tok_1"), denial("tok_2"), denial("tok_3", api_id="api_2")])
    assert await store.prune_denials(1000.0) == 1
    assert [d.subject for d in await store.list_denials("api_1")] == ["tok_2"]
    latest = (await store.list_denials("api_1"))[0].seq
    again = await store.put_denials([denial("tok_4")])
    assert again[0].seq > latest  # a seq is never given twice


async def test_a_pended_denial_commits_with_the_change(keystead: Keystead) -> None:
    admin = await keystead.workspaces.local_operator()
    api = await keystead.apis.create(admin, name="orders")
    seen: list[DenialRecord] = []
    store = keystead.store
    assert isinstance(store, SqlStore)
    store.on_token_denials = seen.extend
    pend_denial(denial("key_x", kind="key", api_id=api.id))
    await store.update_api(admin.workspace_id, api.id, {"name": "orders-2"})
    assert [d.subject for d in await store.list_denials(api.id)] == ["key_x"]
    assert [d.subject for d in seen] == ["key_x"] and seen[0].seq > 0


async def test_a_failed_change_drops_its_pended_denial(keystead: Keystead) -> None:
    admin = await keystead.workspaces.local_operator()
    api = await keystead.apis.create(admin, name="orders")
    pend_denial(denial("key_y", kind="key", api_id=api.id))
    with pytest.raises(Conflict):
        await keystead.store.insert_api(api)  # the same id again: rolled back
    await keystead.store.update_api(admin.workspace_id, api.id, {"name": "orders-2"})
    assert await keystead.store.list_denials(api.id) == []


async def test_the_token_policy_is_a_column_of_the_api(keystead: Keystead) -> None:
    admin = await keystead.workspaces.local_operator()
    api = await keystead.apis.create(admin, name="orders")
    assert api.token_policy is None
    policy = {"enabled": True, "max_ttl_s": 60}
    updated = await keystead.store.update_api(admin.workspace_id, api.id, {"token_policy": policy})
    assert updated is not None and updated.token_policy == policy


async def test_deleting_an_api_deletes_its_keys_and_denials(keystead: Keystead) -> None:
    admin = await keystead.workspaces.local_operator()
    api = await keystead.apis.create(admin, name="orders")
    await keystead.store.add_signing_key(signing_key("tsk_a", api_id=api.id), expected=None)
    await keystead.store.put_denials([denial("tok_1", api_id=api.id)])
    await keystead.apis.delete(admin, api.id)
    assert await keystead.store.list_signing_keys(api.id) == []
    assert await keystead.store.list_denials(api.id) == []
