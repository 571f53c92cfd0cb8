"""Rotation, rewrap and retirement of the master key over everything sealed
under it (secret versions, webhook secrets, pickups), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from transit_support import decrypt, encrypt

from keystead.config import Settings
from keystead.core.at_rest import ENVELOPE
from keystead.core.authz import Principal
from keystead.core.envelope import Sealed
from keystead.errors import Conflict, ValidationError
from keystead.events.webhooks import SecretBox
from keystead.service import Keystead
from keystead.service.master_keys import CHECK_SETTING
from keystead.store.sealed import Replacement
from keystead.store.sql import SqlStore
from keystead.store.sql.tables import pickups, secret_versions, webhooks

CAUSE = {"source": "alert", "reason": "the key showed up in a public repository"}
PATHS = [f"app/{n}" for n in range(7)]


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


async def _pickup(ks: Keystead, admin: Principal, name: str) -> str:
    api = await ks.apis.create(admin, name=name, prefix=name[:4])
    created = await ks.keys.create(admin, api_id=api.id)
    done = await ks.actions.apply(admin, created.key.id, "rotate", CAUSE)
    return str(done.record.result["pickup_id"])


async def _raw(ks: Keystead, table: sa.Table, *columns: str) -> list[tuple[Any, ...]]:
    store = ks.store
    assert isinstance(store, SqlStore)
    async with store._engine.connect() as c:
        found = await c.execute(sa.select(*(table.c[n] for n in columns)).order_by(*table.c[:1]))
        return [tuple(r) for r in found]


def _box(ks: Keystead, settings: Settings) -> SecretBox:
    """The box the service seals webhook secrets with (same server secret, same keyring)."""
    return SecretBox.from_server_secret(settings.load_secret(create=False), ks.master_keys.provider)


async def test_rotate_write_rewrap_and_every_value_still_reads(
    vault: Keystead, root: Principal, settings: Settings
) -> None:
    for n, path in enumerate(PATHS):
        await vault.secrets.put(root, "secret", path, {"value": f"old-{n}"})
    hook = await vault.webhooks.create(root, url="https://example.test/in", events=["*"])
    rotated_hook = await vault.webhooks.rotate_secret(root, hook.webhook.id)
    pickup_id = await _pickup(vault, root, "first")
    await vault.secrets.enable_mount(root, "transit", kind="transit")
    await vault.transit.create_key(root, "transit", "orders")
    column = await encrypt(vault, root, "orders", b"4111 1111 1111 1111")
    before = await _raw(vault, secret_versions, "secret_id", "version", "sealed")

    assert (await vault.master_keys.rotate()).current_version == 2
    await vault.secrets.put(root, "secret", PATHS[0], {"value": "new-0"})
    assert await vault.master_keys.references() == {1: len(PATHS) + 4, 2: 1}
    assert (await vault.master_keys.pending())["secret_version"] == len(PATHS)

    seen: list[tuple[str, int]] = []
    done = await vault.master_keys.rewrap(batch=3, progress=lambda k, n: seen.append((k, n)))

    assert done.current_version == 2
    assert done.rewrapped == {
        "secret_version": len(PATHS),
        "webhook_secret": 1,
        "webhook_old_secret": 1,
        "pickup": 1,
        "transit_key_version": 1,
        "token_signing_key": 0,
        "server_secret": 0,
    }
    assert sum(n for k, n in seen if k == "secret_version") == len(PATHS)
    assert max(n for _, n in seen) <= 3 and done.check_rewrapped
    assert done.before[1]["secret_version"] == len(PATHS)
    assert done.after == {
        2: {
            "secret_version": len(PATHS) + 1,
            "webhook_secret": 1,
            "webhook_old_secret": 1,
            "pickup": 1,
            "transit_key_version": 1,
        }
    }
    assert await vault.master_keys.references() == {2: len(PATHS) + 5}
    assert (await vault.master_keys.status()).check_version == 2
    # the data keys moved, the ciphertexts did not: the AAD (where each lives) still binds
    after = {
        (r[0], r[1]): r[2]
        for r in await _raw(vault, secret_versions, "secret_id", "version", "sealed")
    }
    for secret_id, version, blob in before:
        old, new = Sealed.from_bytes(blob), Sealed.from_bytes(after[(secret_id, version)])
        assert (old.key_version, new.key_version) == (1, 2)
        assert (new.nonce, new.ciphertext) == (old.nonce, old.ciphertext)
    for n, path in enumerate(PATHS):
        assert (await vault.secrets.get(root, "secret", path, 1)).data == {"value": f"old-{n}"}
    assert (await vault.secrets.get(root, "secret", PATHS[0])).data == {"value": "new-0"}
    found = await vault.store.get_webhook(root.workspace_id, hook.webhook.id)
    assert found is not None and found.sealed_old_secret is not None
    box = _box(vault, settings)
    assert box.open(found.sealed_secret, root.workspace_id, hook.webhook.id) == rotated_hook.secret
    assert box.open(found.sealed_old_secret, root.workspace_id, hook.webhook.id) == hook.secret
    assert await decrypt(vault, root, "orders", column) == b"4111 1111 1111 1111"
    claimed = await vault.pickups.claim(root, pickup_id)
    assert claimed.key is not None and (await vault.verify(claimed.key)).valid
    # a second run has nothing left to do
    again = await vault.master_keys.rewrap()
    assert sum(again.rewrapped.values()) == 0 and not again.check_rewrapped


async def test_an_interrupted_rewrap_loses_nothing_and_resumes(
    vault: Keystead, root: Principal
) -> None:
    for n, path in enumerate(PATHS):
        await vault.secrets.put(root, "secret", path, {"value": f"v-{n}"})
    await vault.master_keys.rotate()

    class Stopped(Exception):
        pass

    def stop(kind: str, done: int) -> None:
        raise Stopped

    with pytest.raises(Stopped):
        await vault.master_keys.rewrap(batch=2, progress=stop)

    assert await vault.master_keys.references() == {1: len(PATHS) - 2, 2: 2}
    for n, path in enumerate(PATHS):
        assert (await vault.secrets.get(root, "secret", path)).data == {"value": f"v-{n}"}
    resumed = await vault.master_keys.rewrap(batch=2)
    assert resumed.rewrapped["secret_version"] == len(PATHS) - 2
    assert await vault.master_keys.references() == {2: len(PATHS)}
    for n, path in enumerate(PATHS):
        assert (await vault.secrets.get(root, "secret", path)).data == {"value": f"v-{n}"}


async def test_a_row_changed_during_a_batch_is_left_to_its_writer(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "a", {"value": "1"})
    await vault.secrets.put(root, "secret", "b", {"value": "2"})
    await vault.master_keys.rotate()
    rows = await vault.store.sealed_batch(
        "secret_version", legacy=False, not_version=2, after=None, limit=10
    )
    assert len(rows) == 2
    await vault.secrets.destroy(root, "secret", "a", [1])  # a concurrent writer

    stored = await vault.store.replace_sealed(
        "secret_version", [Replacement(row, b"\x01replaced", 2) for row in rows]
    )

    assert stored == 1
    raw = await _raw(vault, secret_versions, "sealed", "key_version", "destroyed")
    assert sorted(raw, key=str) == sorted(
        [(None, None, True), (b"\x01replaced", 2, False)], key=str
    )


async def test_retire_is_refused_until_nothing_uses_the_version(
    vault: Keystead, root: Principal, settings: Settings
) -> None:
    await vault.secrets.put(root, "secret", "app", {"value": "kept"})
    await vault.webhooks.create(root, url="https://example.test/in", events=["*"])
    with pytest.raises(Conflict, match="current one"):
        await vault.master_keys.retire(1)
    await vault.master_keys.rotate()

    with pytest.raises(
        Conflict, match="1 secret_version, 1 store_check, 1 webhook_secret"
    ) as refused:
        await vault.master_keys.retire(1)
    assert "rewrap" in refused.value.detail
    with pytest.raises(ValidationError, match="no master key version 7"):
        await vault.master_keys.retire(7)
    status = await vault.master_keys.status()
    assert status.references == {1: {"secret_version": 1, "webhook_secret": 1}}

    await vault.master_keys.rewrap()
    retired = await vault.master_keys.retire(1)

    assert (retired.versions, retired.current_version, retired.check_version) == ([2], 2, 2)
    assert retired.references == {2: {"secret_version": 1, "webhook_secret": 1}}
    assert (await vault.secrets.get(root, "secret", "app")).data == {"value": "kept"}
    reopened = await Keystead.open(settings=settings)
    try:
        assert (await reopened.secrets.get(root, "secret", "app")).data == {"value": "kept"}
    finally:
        await reopened.close()


async def test_claimed_and_destroyed_items_hold_no_reference(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "gone", {"value": "x"})
    pickup_id = await _pickup(vault, root, "claimed")
    assert await vault.master_keys.references() == {1: 2}
    await vault.secrets.destroy(root, "secret", "gone", [1])
    await vault.pickups.claim(root, pickup_id)
    assert await vault.master_keys.references() == {}
    await vault.master_keys.rotate()
    assert sum((await vault.master_keys.rewrap()).rewrapped.values()) == 0


async def test_an_upgrade_moves_legacy_rows_under_the_master_key(settings: Settings) -> None:
    """Rows sealed under the server secret by a store without a master key (as every
    store before migration 0012) read back once the store has one."""
    from alembic import command
    from alembic.config import Config

    from keystead.store.sql import engine

    old = await Keystead.open(settings=settings)
    try:
        admin = await old.workspaces.local_operator()
        hook = await old.webhooks.create(admin, url="https://example.test/in", events=["*"])
        rotated = await old.webhooks.rotate_secret(admin, hook.webhook.id)
        pickup_id = await _pickup(old, admin, "legacy")
        store = old.store
        assert isinstance(store, SqlStore)

        def downgrade(connection: sa.Connection) -> None:
            config = Config()
            config.set_main_option("script_location", str(engine._MIGRATIONS))
            config.attributes["connection"] = connection
            command.downgrade(config, "0011")

        async with store._engine.begin() as connection:
            await connection.run_sync(downgrade)
    finally:
        await old.close()

    upgraded = await Keystead.open(settings=settings, create_master_key=True)
    try:
        raw = await _raw(
            upgraded, webhooks, "secret", "old_secret", "key_version", "old_key_version"
        )
        assert [(r[0][:1], r[1][:1], r[2], r[3]) for r in raw] == [(ENVELOPE, ENVELOPE, 1, 1)]
        assert [r[1] for r in await _raw(upgraded, pickups, "id", "key_version")] == [1]
        assert await upgraded.master_keys.references() == {1: 3}
        assert (await upgraded.master_keys.status()).legacy == {}
        box = _box(upgraded, settings)
        found = await upgraded.store.get_webhook(admin.workspace_id, hook.webhook.id)
        assert found is not None and found.sealed_old_secret is not None
        assert box.open(found.sealed_secret, admin.workspace_id, found.id) == rotated.secret
        assert box.open(found.sealed_old_secret, admin.workspace_id, found.id) == hook.secret
        claimed = await upgraded.pickups.claim(admin, pickup_id)
        assert claimed.key is not None and (await upgraded.verify(claimed.key)).valid
    finally:
        await upgraded.close()
    again = await Keystead.open(settings=settings)  # converting again changes nothing
    try:
        assert await _raw(again, webhooks, "secret", "old_secret") == [
            (found.sealed_secret, found.sealed_old_secret)
        ]
        assert await again.store.get_setting(CHECK_SETTING) is not None
    finally:
        await again.close()
