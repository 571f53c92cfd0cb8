"""Stored secrets on SQLite and PostgreSQL: check-and-set is atomic under concurrent
writers, a sealed version moved to another row does not open (409 and an alert, not
a 500), destroying erases the sealed bytes, and no stored byte holds a value."""

from __future__ import annotations

import asyncio
import secrets as random
from pathlib import Path

import pytest
import sqlalchemy as sa

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.envelope import Sealed, secret_aad, unseal
from keystead.core.secrets import SealedVersion, SecretMetadata, VersionInfo
from keystead.errors import CheckAndSetMismatch, IntegrityError
from keystead.service import Keystead
from keystead.service.secret_integrity import KIND
from keystead.store.sql import SqlStore
from keystead.store.sql.tables import secret_versions, secrets
from storedkit import stored_rows


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


def sql(ks: Keystead) -> SqlStore:
    assert isinstance(ks.store, SqlStore)
    return ks.store


async def test_two_writers_with_the_same_cas_one_wins(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "race", {"n": "0"})
    for round_ in range(1, 6):
        outcomes = await asyncio.gather(
            *(
                vault.secrets.put(root, "secret", "race", {"n": f"{round_}.{w}"}, cas=round_)
                for w in range(2)
            ),
            return_exceptions=True,
        )
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1, outcomes
        assert [type(e) for e in lost] == [CheckAndSetMismatch]
        assert won[0].version.version == round_ + 1
    meta = await vault.secrets.read_metadata(root, "secret", "race")
    assert meta.current_version == 6


async def test_two_creators_with_cas_zero_one_wins(vault: Keystead, root: Principal) -> None:
    outcomes = await asyncio.gather(
        *(vault.secrets.put(root, "secret", "new", {"w": str(w)}, cas=0) for w in range(3)),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == [
        "CheckAndSetMismatch",
        "CheckAndSetMismatch",
        "SecretWritten",
    ]


async def test_concurrent_writers_without_cas_each_get_a_version(
    vault: Keystead, root: Principal
) -> None:
    written = await asyncio.gather(
        *(vault.secrets.put(root, "secret", "busy", {"w": str(w)}) for w in range(4))
    )
    assert sorted(w.version.version for w in written) == [1, 2, 3, 4]


async def test_the_store_check_and_set_is_one_statement(vault: Keystead, root: Principal) -> None:
    """At the store: two writes expecting the same version, one stored, one None."""
    await vault.secrets.put(root, "secret", "cas", {"n": "1"})
    current = await vault.store.get_secret(root.workspace_id, "secret", "cas")
    assert current is not None

    def version(n: int) -> SealedVersion:
        return SealedVersion(VersionInfo(2, current.updated_time, key_version=1), b"\x01" * 40)

    results = await asyncio.gather(
        *(
            vault.store.write_secret_version(current, version(n), expected=1, keep=10)
            for n in range(2)
        )
    )
    assert sorted(r is None for r in results) == [False, True]


async def test_a_sealed_version_moved_to_another_row_does_not_open(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "a", {"k": "value-a"})
    await vault.secrets.put(root, "secret", "b", {"k": "value-b"})
    store = sql(vault)
    ids = {row.path: row.id for row in await store._all(sa.select(secrets.c.path, secrets.c.id))}
    v = secret_versions.c
    async with store._engine.begin() as c:
        sealed_b = (
            await c.execute(sa.select(v.sealed).where(v.secret_id == ids["b"]))
        ).scalar_one()
        await c.execute(
            secret_versions.update().where(v.secret_id == ids["a"]).values(sealed=sealed_b)
        )

    with pytest.raises(IntegrityError) as failed:
        await vault.secrets.get(root, "secret", "a")
    assert failed.value.status == 409
    assert "value-b" not in failed.value.detail
    alerts = await vault.store.list_alerts(
        root.workspace_id, status=None, severity=None, after=None, limit=10
    )
    assert [(a.kind, a.scope_id, a.severity) for a in alerts] == [(KIND, "secret/a", "critical")]
    with pytest.raises(IntegrityError):  # again: the same alert, counted
        await vault.secrets.get(root, "secret", "a")
    assert (
        len(
            await vault.store.list_alerts(
                root.workspace_id, status=None, severity=None, after=None, limit=10
            )
        )
        == 1
    )
    assert (await vault.secrets.get(root, "secret", "b")).data == {"k": "value-b"}


async def test_sealed_bytes_open_only_where_they_were_written(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    found = await vault.store.read_secret_version(root.workspace_id, "secret", "app", None)
    assert found is not None and found[1] is not None and found[1].sealed is not None
    sealed = Sealed.from_bytes(found[1].sealed)
    here = secret_aad(root.workspace_id, "secret", "app", 1)
    assert unseal(sealed, here, vault.keyring) == b'{"k":"v"}'
    assert found[1].info.key_version == sealed.key_version == 1
    for elsewhere in (
        secret_aad(root.workspace_id, "secret", "app", 2),
        secret_aad(root.workspace_id, "secret", "ap", 1),
        secret_aad("ws_other", "secret", "app", 1),
        secret_aad(root.workspace_id, "kv", "app", 1),
    ):
        with pytest.raises(IntegrityError):
            unseal(sealed, elsewhere, vault.keyring)


async def test_destroy_erases_the_sealed_bytes(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "gone", {"k": "v1"})
    await vault.secrets.put(root, "secret", "gone", {"k": "v2"})
    await vault.secrets.destroy(root, "secret", "gone", [1])
    v = secret_versions.c
    stored = await sql(vault)._all(sa.select(v.version, v.sealed, v.key_version, v.destroyed))
    assert sorted((r.version, r.sealed is None, r.key_version, r.destroyed) for r in stored) == [
        (1, True, None, True),
        (2, False, 1, False),
    ]
    assert (await vault.store.count_sealed())["secret_version"] == {1: 1}


async def test_rotation_is_visible_per_version(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "r", {"k": "v1"})
    await vault.master_keys.rotate()
    await vault.secrets.put(root, "secret", "r", {"k": "v2"})
    assert await vault.master_keys.references() == {1: 1, 2: 1}
    assert (await vault.secrets.get(root, "secret", "r", 1)).data == {"k": "v1"}


async def test_no_stored_byte_holds_a_value(
    vault: Keystead, root: Principal, tmp_path: Path
) -> None:
    value = f"unique-{random.token_hex(16)}"
    await vault.secrets.put(root, "secret", "leak/check", {"token": value})
    await vault.secrets.patch(root, "secret", "leak/check", {"other": value})
    assert (await vault.secrets.get(root, "secret", "leak/check")).data["token"] == value
    await vault.secrets.put(root, "secret", "leak/check", {"token": value}, cas=2)
    needle = value.encode()
    store = sql(vault)
    if store.dialect == "sqlite":
        files = [p for p in tmp_path.iterdir() if p.name.startswith("keystead.db")]
        stored = b"".join(file.read_bytes() for file in files)
        assert b"leak/check" in stored  # the reading works: the path is there
        assert needle not in stored
        return
    async with store._engine.connect() as c:
        tables = await stored_rows(c)
        assert "ks_secret_versions" in tables
        paths = 0
        for table in tables:
            for row in tables[table]:
                for cell in row:
                    raw = (
                        bytes(cell) if isinstance(cell, bytes | memoryview) else str(cell).encode()
                    )
                    assert needle not in raw, table
                    paths += b"leak/check" in raw
    assert paths  # the reading works: the path is there


async def test_metadata_without_versions(vault: Keystead, root: Principal) -> None:
    made = await vault.secrets.write_metadata(
        root, "secret", "later", custom_metadata={"owner": "payments"}
    )
    assert (made.current_version, made.custom_metadata) == (0, {"owner": "payments"})
    assert await vault.secrets.list(root, "secret") == ["later"]
    first = await vault.secrets.put(root, "secret", "later", {"k": "v"}, cas=0)
    assert first.version.version == 1
    assert first.metadata.custom_metadata == {"owner": "payments"}
    assert isinstance(first.metadata, SecretMetadata)


async def test_two_nodes_with_the_same_cas_one_wins(
    vault: Keystead, root: Principal, settings: Settings, clock: ManualClock
) -> None:
    """Two services on one database (two engines, two pools): the check is the
    database's, not the process's."""
    other = await Keystead.open(settings=settings, clock=clock)
    try:
        await vault.secrets.put(root, "secret", "shared", {"n": "0"})
        for round_ in range(1, 4):
            outcomes = await asyncio.gather(
                vault.secrets.put(root, "secret", "shared", {"n": "a"}, cas=round_),
                other.secrets.put(root, "secret", "shared", {"n": "b"}, cas=round_),
                return_exceptions=True,
            )
            assert sorted(type(o).__name__ for o in outcomes) == [
                "CheckAndSetMismatch",
                "SecretWritten",
            ]
        assert (await other.secrets.read_metadata(root, "secret", "shared")).current_version == 4
    finally:
        await other.close()


async def test_the_longest_path_and_any_string_value_round_trip(
    vault: Keystead, root: Principal
) -> None:
    """A path of 511 four-byte characters fits the unique index on PostgreSQL, and a
    value may hold any text: NUL, newlines, emoji, quotes."""
    path = "/".join(["\U0001d400" * 127] * 4)
    value = {"weird": 'a\x00b\n"c"\\ 🔑 \u2028', "empty": ""}
    await vault.secrets.put(root, "secret", path, value)
    assert (await vault.secrets.get(root, "secret", path)).data == value
    assert await vault.secrets.list(root, "secret") == ["\U0001d400" * 127 + "/"]
