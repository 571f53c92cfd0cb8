"""Transit keys on SQLite and PostgreSQL: a rotation is one atomic check-and-set, a
sealed key version moved to another key does not open (409 and an alert, not a 500),
and no stored byte holds key material or a plaintext."""

from __future__ import annotations

import asyncio
import base64
import secrets as random
from pathlib import Path

import pytest
import sqlalchemy as sa

from keystead.core.authz import Principal
from keystead.core.envelope import Sealed, unseal
from keystead.core.transit import transit_key_aad
from keystead.errors import IntegrityError
from keystead.service import Keystead
from keystead.service.transit_material import KIND
from keystead.store.sql import SqlStore
from keystead.store.sql.tables import transit_key_versions, transit_keys
from storedkit import stored_rows


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    principal = await vault.workspaces.local_operator()
    await vault.secrets.enable_mount(principal, "transit", kind="transit")
    return principal


def sql(ks: Keystead) -> SqlStore:
    assert isinstance(ks.store, SqlStore)
    return ks.store


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def test_concurrent_rotations_each_add_one_version(vault: Keystead, root: Principal) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    await asyncio.gather(*(vault.transit.rotate_key(root, "transit", "orders") for _ in range(4)))
    key = await vault.transit.read_key(root, "transit", "orders")
    assert key.latest_version == 5
    assert [v.version for v in key.versions] == [1, 2, 3, 4, 5]


async def test_the_store_rotation_is_a_check_and_set(vault: Keystead, root: Principal) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    material = vault.transit._crypto.material
    ws = root.workspace_id
    first = material.new_version(ws, "transit", "orders", 2)
    second = material.new_version(ws, "transit", "orders", 2)
    added = await vault.store.add_transit_key_version(ws, "transit", "orders", first, expected=1)
    assert added is not None and added.latest_version == 2
    again = await vault.store.add_transit_key_version(ws, "transit", "orders", second, expected=1)
    assert again is None
    missing = await vault.store.add_transit_key_version(ws, "transit", "none", second, expected=1)
    assert missing is None


async def test_a_key_version_moved_to_another_key_does_not_open(
    vault: Keystead, root: Principal
) -> None:
    await vault.transit.create_key(root, "transit", "a")
    await vault.transit.create_key(root, "transit", "b")
    store = sql(vault)
    ids = {
        row.name: row.id
        for row in await store._all(sa.select(transit_keys.c.name, transit_keys.c.id))
    }
    v = transit_key_versions.c
    async with store._engine.begin() as c:
        sealed_b = (await c.execute(sa.select(v.sealed).where(v.key_id == ids["b"]))).scalar_one()
        await c.execute(
            transit_key_versions.update().where(v.key_id == ids["a"]).values(sealed=sealed_b)
        )

    with pytest.raises(IntegrityError) as failed:
        await vault.transit.encrypt(root, "transit", "a", [{"plaintext": b64(b"x")}])
    assert failed.value.status == 409
    assert "an alert is open" in failed.value.detail
    alerts = await vault.store.list_alerts(
        root.workspace_id, status=None, severity=None, after=None, limit=10
    )
    assert [(a.kind, a.scope_id, a.severity) for a in alerts] == [(KIND, "transit/a", "critical")]
    with pytest.raises(IntegrityError):  # again: the same alert
        await vault.transit.encrypt(root, "transit", "a", [{"plaintext": b64(b"x")}])
    again = await vault.store.list_alerts(
        root.workspace_id, status=None, severity=None, after=None, limit=10
    )
    assert len(again) == 1
    (ok,) = await vault.transit.encrypt(root, "transit", "b", [{"plaintext": b64(b"x")}])
    assert ok.ciphertext is not None


async def test_no_stored_byte_holds_material_or_a_plaintext(
    vault: Keystead, root: Principal, tmp_path: Path
) -> None:
    key = await vault.transit.create_key(root, "transit", "leakcheck")
    value = random.token_bytes(32)
    (encrypted,) = await vault.transit.encrypt(
        root, "transit", "leakcheck", [{"plaintext": b64(value)}]
    )
    assert encrypted.ciphertext is not None
    (stored,) = await vault.store.get_transit_key_versions(root.workspace_id, key.id, [1])
    where = transit_key_aad(root.workspace_id, "transit", "leakcheck", 1)
    material = unseal(Sealed.from_bytes(stored.sealed), where, vault.keyring)
    needles = [form for raw in (material, value) for form in (raw, raw.hex().encode())]
    needles += [b64(material).encode(), b64(value).encode()]
    store = sql(vault)
    if store.dialect == "sqlite":
        files = [p for p in tmp_path.iterdir() if p.name.startswith("keystead.db")]
        blob = b"".join(file.read_bytes() for file in files)
        assert b"leakcheck" in blob  # the reading works: the name is there
        assert stored.sealed in blob  # and so are the sealed bytes
        assert not [n for n in needles if n in blob]
        return
    async with store._engine.connect() as c:
        tables = await stored_rows(c)
        assert "ks_transit_key_versions" in tables
        names = 0
        for table in tables:
            for row in tables[table]:
                for cell in row:
                    raw = (
                        bytes(cell) if isinstance(cell, bytes | memoryview) else str(cell).encode()
                    )
                    assert not [n for n in needles if n in raw], table
                    names += b"leakcheck" in raw
    assert names  # the reading works: the name is there
