"""What a store must not get wrong on any backend, each a trap of one of them (MariaDB's
default collation folds case and pads, its FOR UPDATE locks more than PostgreSQL's,
its indexes have a byte limit): hashes and ids compare byte for byte, the longest
4-byte text fits every index it is in, a lease has one holder however many nodes
race for it, and racing capped inserts stop at the cap."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from keystead.core.authz import Principal
from keystead.service import Keystead
from keystead.store import open_store
from keystead.store.base import KeyFilter
from keystead.store.sql import SqlStore
from keystead.store.sql.tables import keys

NOW = datetime(2030, 1, 1, tzinfo=UTC)
LETTERS = b"KeysteadHashOfLettersOnly-ABCxyz"  # 32 bytes, case matters in each


def sql(ks: Keystead) -> SqlStore:
    assert isinstance(ks.store, SqlStore)
    return ks.store


async def _key(ks: Keystead, admin: Principal, **kw: object) -> str:
    api = await ks.apis.create(admin, name="traps")
    return (await ks.keys.create(admin, api_id=api.id, **kw)).key.id


async def test_a_hash_matches_only_itself_byte_for_byte(
    keystead: Keystead, admin: Principal
) -> None:
    key_id = await _key(keystead, admin)
    store = sql(keystead)
    assert len(LETTERS) == 32
    async with store._engine.begin() as c:
        await c.execute(keys.update().where(keys.c.id == key_id).values(key_hash=LETTERS))
    found = await store.find_key(LETTERS)
    assert found is not None and found.id == key_id
    assert await store.find_key(LETTERS.lower()) is None
    assert await store.find_key(LETTERS.upper()) is None
    assert await store.find_key(LETTERS[:31]) is None
    assert await store.find_key(LETTERS[:31] + b" ") is None


async def test_ids_and_owners_match_only_themselves(keystead: Keystead, admin: Principal) -> None:
    key_id = await _key(keystead, admin, owner_id="Alice")
    store = sql(keystead)
    workspace_id = admin.workspace_id
    assert await store.get_key(workspace_id, key_id) is not None
    for other in (key_id.upper(), key_id.lower(), key_id + " ", key_id + "\t"):
        if other != key_id:
            assert await store.get_key(workspace_id, other) is None, repr(other)
    for owner, expected in (("Alice", 1), ("alice", 0), ("ALICE", 0), ("Alice ", 0)):
        found = await store.list_keys(
            workspace_id, KeyFilter(owner_id=owner), after=None, limit=10, now=NOW
        )
        assert len(found) == expected, repr(owner)


async def test_names_that_differ_in_case_are_two_apis(keystead: Keystead, admin: Principal) -> None:
    first = await keystead.apis.create(admin, name="payments")
    second = await keystead.apis.create(admin, name="Payments")
    third = await keystead.apis.create(admin, name="payments ")
    assert len({first.id, second.id, third.id}) == 3


async def test_the_longest_four_byte_text_fits_its_indexes(
    keystead: Keystead, admin: Principal
) -> None:
    """utf8mb4 takes 4 bytes a character in an index: the longest owner id (200) of
    emoji is stored whole and found through the owner index."""
    owner = "\U0001f511" * 200
    key_id = await _key(keystead, admin, owner_id=owner, name="\U0001f5dd" * 200)
    found = await sql(keystead).list_keys(
        admin.workspace_id, KeyFilter(owner_id=owner), after=None, limit=10, now=NOW
    )
    assert [k.id for k in found] == [key_id]
    assert found[0].owner_id == owner and found[0].name == "\U0001f5dd" * 200


async def test_racing_nodes_give_a_lease_one_holder(keystead: Keystead) -> None:
    nodes = [keystead.store, open_store(keystead.settings.database_url)]
    try:
        until = NOW + timedelta(minutes=1)
        won = await asyncio.gather(
            *(nodes[n % 2].acquire_lease("scheduler", f"node-{n}", NOW, until) for n in range(8))
        )
        assert won.count(True) == 1
        holder = f"node-{won.index(True)}"
        assert await nodes[1].acquire_lease("scheduler", holder, NOW, until)  # extends
        assert not await nodes[0].acquire_lease("scheduler", "late", NOW, until)
        later = until + timedelta(seconds=1)
        assert await nodes[0].acquire_lease(
            "scheduler", "late", later, later + timedelta(minutes=1)
        )
    finally:
        await nodes[1].close()


async def test_the_store_reads_back_what_it_wrote_to_the_microsecond(
    keystead: Keystead, admin: Principal
) -> None:
    expires = "2031-02-03T04:05:06.789012Z"
    key_id = await _key(keystead, admin, expires_at=expires)
    found = await sql(keystead).get_key(admin.workspace_id, key_id)
    assert found is not None
    assert found.expires_at == datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


async def test_the_schema_is_one_collation(keystead: Keystead) -> None:
    """MariaDB: every text column of Keystead's tables compares characters as they are
    (JSON columns are MariaDB's own ``utf8mb4_bin``: never compared as text)."""
    store = sql(keystead)
    if store.dialect != "mysql":
        return
    async with store._engine.connect() as c:
        found = (
            await c.execute(
                sa.text(
                    "SELECT DISTINCT collation_name FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND data_type IN ('varchar', 'char', 'text') "
                    "AND table_name LIKE 'ks\\_%'"
                )
            )
        ).scalars()
        assert set(found) == {"utf8mb4_nopad_bin"}
