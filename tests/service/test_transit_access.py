"""``ks.transit``: mount kinds, permissions per operation, workspaces, and what the
audit log, the outbox, the logs and the master-key references hold, on SQLite and
PostgreSQL."""

from __future__ import annotations

import logging
import secrets as random

import pytest
from transit_support import b64, decrypt, encrypt, scoped, transit_root

from keystead.core.authz import Principal
from keystead.core.envelope import Sealed, unseal
from keystead.core.transit import TransitKeyNotFound, transit_key_aad
from keystead.errors import Forbidden, NotFound, ValidationError
from keystead.service import Keystead


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await transit_root(vault)


# --- mounts ---------------------------------------------------------------------------------


async def test_a_transit_mount_serves_no_secrets_and_a_kv_mount_no_keys(
    vault: Keystead, root: Principal
) -> None:
    with pytest.raises(ValidationError, match="transit mount"):
        await vault.secrets.put(root, "transit", "app", {"k": "v"})
    with pytest.raises(ValidationError, match="transit mount"):
        await vault.secrets.list(root, "transit")
    with pytest.raises(ValidationError, match="transit mount"):
        await vault.secrets.read_config(root, "transit")
    with pytest.raises(ValidationError, match="kv-v2 mount"):
        await vault.transit.create_key(root, "secret", "orders")
    with pytest.raises(NotFound):
        await vault.transit.create_key(root, "elsewhere", "orders")
    with pytest.raises(ValidationError, match="no version settings"):
        await vault.secrets.enable_mount(root, "transit2", kind="transit", max_versions=3)
    kinds = {m.name: m.kind for m in await vault.secrets.list_mounts(root)}
    assert kinds == {"secret": "kv-v2", "transit": "transit"}


# --- permissions ----------------------------------------------------------------------------


async def test_permissions_per_operation(vault: Keystead, root: Principal) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    await vault.transit.create_key(root, "transit", "other")
    ciphertext = await encrypt(vault, root, "orders", b"x")

    encrypter = scoped(root, "secrets.encrypt:transit/orders")
    assert (await encrypt(vault, encrypter, "orders", b"y")).startswith("vault:v1:")
    await vault.transit.datakey(encrypter, "transit", "orders", plaintext=False)
    with pytest.raises(Forbidden):
        await decrypt(vault, encrypter, "orders", ciphertext)
    with pytest.raises(Forbidden):
        await encrypt(vault, encrypter, "other", b"y")
    with pytest.raises(Forbidden):
        await vault.transit.rewrap(encrypter, "transit", "orders", [{"ciphertext": ciphertext}])
    with pytest.raises(Forbidden):
        await vault.transit.read_key(encrypter, "transit", "orders")

    decrypter = scoped(root, "secrets.decrypt:transit/orders")
    assert await decrypt(vault, decrypter, "orders", ciphertext) == b"x"
    with pytest.raises(Forbidden):
        await encrypt(vault, decrypter, "orders", b"y")

    both = scoped(root, "secrets.encrypt:transit/orders", "secrets.decrypt:transit/orders")
    (rewrapped,) = await vault.transit.rewrap(
        both, "transit", "orders", [{"ciphertext": ciphertext}]
    )
    assert rewrapped.ciphertext is not None
    for manage in (
        vault.transit.rotate_key(both, "transit", "orders"),
        vault.transit.configure_key(both, "transit", "orders", deletion_allowed=True),
        vault.transit.create_key(both, "transit", "orders2"),
    ):
        with pytest.raises(Forbidden):
            await manage
    with pytest.raises(Forbidden):
        await vault.transit.list_keys(both, "transit")

    reader = scoped(root, "secrets.read:transit/orders", "secrets.list:transit/*")
    assert (await vault.transit.read_key(reader, "transit", "orders")).name == "orders"
    assert await vault.transit.list_keys(reader, "transit") == ["orders", "other"]

    admin = scoped(root, "secrets.admin:transit/orders")
    assert await decrypt(vault, admin, "orders", ciphertext) == b"x"  # admin implies
    assert (await vault.transit.rotate_key(admin, "transit", "orders")).latest_version == 2


async def test_another_workspace_s_keys_do_not_exist(vault: Keystead, root: Principal) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    ciphertext = await encrypt(vault, root, "orders", b"x")
    other = (await vault.workspaces.create("other")).workspace
    stranger = await vault.workspaces.local_operator(other.id)
    with pytest.raises(NotFound):
        await vault.transit.read_key(stranger, "transit", "orders")
    await vault.secrets.enable_mount(stranger, "transit", kind="transit")
    with pytest.raises(TransitKeyNotFound):
        await vault.transit.read_key(stranger, "transit", "orders")
    await vault.transit.create_key(stranger, "transit", "orders")  # its own key
    with pytest.raises(ValidationError, match="unable to decrypt"):
        await decrypt(vault, stranger, "orders", ciphertext)


# --- audit, events, logs and what is stored -----------------------------------------------


async def test_audit_events_and_logs_never_hold_plaintext_ciphertext_or_material(
    vault: Keystead, root: Principal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    value = random.token_bytes(24)
    await vault.transit.create_key(root, "transit", "orders")
    ciphertext = await encrypt(vault, root, "orders", value)
    await vault.transit.rotate_key(root, "transit", "orders")
    await vault.transit.decrypt(
        root, "transit", "orders", [{"ciphertext": ciphertext}, {"ciphertext": "bad"}]
    )
    await vault.transit.rewrap(root, "transit", "orders", [{"ciphertext": ciphertext}])
    key = await vault.transit.configure_key(root, "transit", "orders", deletion_allowed=True)
    (stored,) = await vault.store.get_transit_key_versions(root.workspace_id, key.id, [1])
    where = transit_key_aad(root.workspace_id, "transit", "orders", 1)
    material = unseal(Sealed.from_bytes(stored.sealed), where, vault.keyring)
    await vault.transit.delete_key(root, "transit", "orders")

    entries = await vault.store.audit_entries(root.workspace_id, after=0, limit=100)
    seen = [
        (e.record.action, e.record.target_id)
        for e in entries
        if e.record.target_type == "transit_key"
    ]
    assert seen == [
        ("transit_key.create", "transit/orders"),
        ("transit.encrypt", "transit/orders"),
        ("transit_key.rotate", "transit/orders"),
        ("transit.decrypt", "transit/orders"),
        ("transit.rewrap", "transit/orders"),
        ("transit_key.configure", "transit/orders"),
        ("transit_key.delete", "transit/orders"),
    ]
    decrypted = next(e for e in entries if e.record.action == "transit.decrypt")
    assert decrypted.record.changes["after"] == {"versions": [1], "items": 2, "refused": 1}
    events = await vault.store.list_events(root.workspace_id, after=None, limit=100)
    assert sorted(
        (e.type, e.data["version"]) for e in events if e.type.startswith("transit_key.")
    ) == [("transit_key.created", 1), ("transit_key.deleted", 2), ("transit_key.rotated", 2)]
    everything = repr(entries) + repr(events) + caplog.text
    for secret in (value, material):
        for form in (secret.hex(), b64(secret), repr(secret)):
            assert form not in everything
    assert ciphertext.split(":")[2] not in everything


async def test_master_key_references_count_transit_key_versions(
    vault: Keystead, root: Principal
) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    await vault.transit.rotate_key(root, "transit", "orders")
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    assert await vault.master_keys.references() == {1: 3}
    await vault.master_keys.rotate()
    await vault.transit.rotate_key(root, "transit", "orders")
    assert await vault.master_keys.references() == {1: 3, 2: 1}
