"""``ks.secrets``: KV version 2 semantics, permissions, audit and events, on SQLite
and PostgreSQL (the store's concurrency, leak and integrity tests are in
tests/store/test_secret_store.py)."""

from __future__ import annotations

import logging
import secrets as random
from collections.abc import Awaitable, Callable

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.permissions import GrantSet
from keystead.core.secrets import MAX_VERSION_BYTES, SecretVersionGone
from keystead.errors import (
    CheckAndSetMismatch,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ValidationError,
)
from keystead.service import Keystead


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


def scoped(root: Principal, *grants: str) -> Principal:
    """A service token of ``root``'s workspace holding only ``grants``."""
    return Principal(root.workspace_id, "root_key:rk_test", GrantSet(grants))


# --- values and versions ----------------------------------------------------------------


async def test_every_write_makes_a_version_and_any_kept_version_reads_back(
    vault: Keystead, root: Principal
) -> None:
    first = await vault.secrets.put(root, "secret", "payments/stripe", {"api_key": "sk_1"})
    second = await vault.secrets.put(root, "secret", "/payments/stripe/", {"api_key": "sk_2"})

    assert (first.version.version, second.version.version) == (1, 2)
    latest = await vault.secrets.get(root, "secret", "payments/stripe")
    assert (latest.data, latest.version.version) == ({"api_key": "sk_2"}, 2)
    assert (await vault.secrets.get(root, "secret", "payments/stripe", 1)).data == {
        "api_key": "sk_1"
    }
    assert "sk_2" not in repr(latest)
    meta = await vault.secrets.read_metadata(root, "secret", "payments/stripe")
    assert (meta.current_version, meta.oldest_version) == (2, 1)
    assert [v.version for v in meta.versions] == [1, 2]
    with pytest.raises(NotFound):
        await vault.secrets.get(root, "secret", "payments/stripe", 3)
    with pytest.raises(NotFound):
        await vault.secrets.get(root, "secret", "payments/other")


async def test_check_and_set(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "app", {"a": "1"}, cas=0)
    with pytest.raises(CheckAndSetMismatch, match="check-and-set"):
        await vault.secrets.put(root, "secret", "app", {"a": "2"}, cas=0)  # create only
    with pytest.raises(CheckAndSetMismatch, match="did not match the current version"):
        await vault.secrets.put(root, "secret", "app", {"a": "2"}, cas=7)
    assert (await vault.secrets.put(root, "secret", "app", {"a": "2"}, cas=1)).version.version == 2

    await vault.secrets.write_metadata(root, "secret", "app", cas_required=True)
    with pytest.raises(CheckAndSetMismatch, match="required"):
        await vault.secrets.put(root, "secret", "app", {"a": "3"})
    await vault.secrets.write_config(root, "secret", cas_required=True)
    with pytest.raises(CheckAndSetMismatch, match="required"):
        await vault.secrets.put(root, "secret", "fresh", {"a": "1"})
    assert (await vault.secrets.put(root, "secret", "fresh", {"a": "1"}, cas=0)).version.version


async def test_patch_merges_fields_into_a_new_version(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "db", {"user": "app", "password": "p1", "old": "x"})
    patched = await vault.secrets.patch(
        root, "secret", "db", {"password": "p2", "old": None, "host": "db.internal"}
    )
    assert patched.version.version == 2
    assert (await vault.secrets.get(root, "secret", "db")).data == {
        "user": "app",
        "password": "p2",
        "host": "db.internal",
    }
    with pytest.raises(CheckAndSetMismatch):
        await vault.secrets.patch(root, "secret", "db", {"a": "b"}, cas=1)
    with pytest.raises(NotFound):
        await vault.secrets.patch(root, "secret", "nothing", {"a": "b"})


async def test_delete_undelete_and_destroy(vault: Keystead, root: Principal) -> None:
    for value in ("v1", "v2", "v3"):
        await vault.secrets.put(root, "secret", "svc", {"token": value})

    await vault.secrets.delete(root, "secret", "svc")  # the latest
    with pytest.raises(SecretVersionGone) as gone:
        await vault.secrets.get(root, "secret", "svc")
    assert gone.value.status == 404
    assert (gone.value.state, gone.value.version.version) == ("deleted", 3)
    assert gone.value.version.deletion_time is not None
    assert gone.value.metadata.current_version == 3

    await vault.secrets.undelete(root, "secret", "svc", [3])
    assert (await vault.secrets.get(root, "secret", "svc")).data == {"token": "v3"}

    await vault.secrets.delete(root, "secret", "svc", [1, 2, 99])
    meta = await vault.secrets.destroy(root, "secret", "svc", [2])
    assert [(v.version, v.deletion_time is not None, v.destroyed) for v in meta.versions] == [
        (1, True, False),
        (2, True, True),
        (3, False, False),
    ]
    with pytest.raises(SecretVersionGone) as destroyed:
        await vault.secrets.get(root, "secret", "svc", 2)
    assert destroyed.value.state == "destroyed"
    await vault.secrets.undelete(root, "secret", "svc", [1, 2])  # a destroyed one stays so
    assert (await vault.secrets.get(root, "secret", "svc", 1)).data == {"token": "v1"}
    with pytest.raises(SecretVersionGone):
        await vault.secrets.get(root, "secret", "svc", 2)
    with pytest.raises(ValidationError):
        await vault.secrets.destroy(root, "secret", "svc", [])

    await vault.secrets.delete_metadata(root, "secret", "svc")
    with pytest.raises(NotFound):
        await vault.secrets.read_metadata(root, "secret", "svc")
    assert (await vault.secrets.put(root, "secret", "svc", {"token": "new"})).version.version == 1


async def test_max_versions_prunes_the_oldest(vault: Keystead, root: Principal) -> None:
    await vault.secrets.write_metadata(root, "secret", "app", max_versions=2)
    for n in range(1, 5):
        await vault.secrets.put(root, "secret", "app", {"n": str(n)})
    meta = await vault.secrets.read_metadata(root, "secret", "app")
    assert (meta.current_version, meta.oldest_version) == (4, 3)
    assert [v.version for v in meta.versions] == [3, 4]
    with pytest.raises(NotFound) as pruned:
        await vault.secrets.get(root, "secret", "app", 1)
    assert not isinstance(pruned.value, SecretVersionGone)

    await vault.secrets.write_metadata(root, "secret", "app", max_versions=1)  # prunes now
    assert [
        v.version for v in (await vault.secrets.read_metadata(root, "secret", "app")).versions
    ] == [4]

    for n in range(12):  # 0 everywhere: Vault's default, 10
        await vault.secrets.put(root, "secret", "default", {"n": str(n)})
    kept = (await vault.secrets.read_metadata(root, "secret", "default")).versions
    assert [v.version for v in kept] == list(range(3, 13))


async def test_delete_version_after_makes_versions_read_as_deleted(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    await vault.secrets.write_config(root, "secret", delete_version_after=3600)
    await vault.secrets.write_metadata(root, "secret", "short", delete_version_after=60)
    await vault.secrets.put(root, "secret", "long", {"a": "1"})
    await vault.secrets.put(root, "secret", "short", {"a": "1"})

    clock.advance(61)
    assert (await vault.secrets.get(root, "secret", "long")).data == {"a": "1"}
    with pytest.raises(SecretVersionGone, match="deleted"):
        await vault.secrets.get(root, "secret", "short")
    clock.advance(3600)
    with pytest.raises(SecretVersionGone):
        await vault.secrets.get(root, "secret", "long")
    await vault.secrets.undelete(root, "secret", "long", [1])
    assert (await vault.secrets.get(root, "secret", "long")).data == {"a": "1"}


async def test_list_answers_one_level_and_subkeys_the_field_names(
    vault: Keystead, root: Principal
) -> None:
    for path in ("payments/stripe", "payments/eu/adyen", "payments", "db", "Payments/x"):
        await vault.secrets.put(root, "secret", path, {"k": "v", "other": "w"})
    assert await vault.secrets.list(root, "secret") == ["Payments/", "db", "payments", "payments/"]
    assert await vault.secrets.list(root, "secret", "payments") == ["eu/", "stripe"]
    assert await vault.secrets.list(root, "secret", "payments/eu/") == ["adyen"]
    assert await vault.secrets.list(root, "secret", "nothing") == []

    names, found = await vault.secrets.subkeys(root, "secret", "db")
    assert names == {"k": None, "other": None}
    assert (found.data, found.version.version) == ({}, 1)


async def test_mounts(vault: Keystead, root: Principal) -> None:
    assert [m.name for m in await vault.secrets.list_mounts(root)] == ["secret"]
    mount = await vault.secrets.enable_mount(root, "team-a", max_versions=3)
    assert (mount.kind, mount.config.max_versions) == ("kv-v2", 3)
    with pytest.raises(Conflict):
        await vault.secrets.enable_mount(root, "team-a")
    with pytest.raises(ValidationError):
        await vault.secrets.enable_mount(root, "sys")
    with pytest.raises(ValidationError):
        await vault.secrets.enable_mount(root, "other", kind="transit")
    await vault.secrets.put(root, "team-a", "x", {"a": "b"})
    with pytest.raises(NotFound, match="no mount"):
        await vault.secrets.put(root, "team-b", "x", {"a": "b"})
    updated = await vault.secrets.write_config(root, "team-a", cas_required=True)
    assert updated.config == (await vault.secrets.read_config(root, "team-a")).config
    assert (updated.config.max_versions, updated.config.cas_required) == (3, True)
    assert [m.name for m in await vault.secrets.list_mounts(root)] == ["secret", "team-a"]


# --- input ------------------------------------------------------------------------------


async def test_values_are_objects_of_bounded_string_fields(
    vault: Keystead, root: Principal
) -> None:
    with pytest.raises(ValidationError, match="not a string"):
        await vault.secrets.put(root, "secret", "app", {"port": 5432})  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        await vault.secrets.put(root, "secret", "app", ["a"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="field name"):
        await vault.secrets.put(root, "secret", "app", {"a b": "x"})
    with pytest.raises(PayloadTooLarge) as large:
        await vault.secrets.put(root, "secret", "app", {"blob": "x" * MAX_VERSION_BYTES})
    assert large.value.status == 413
    assert "xxxx" not in large.value.detail
    with pytest.raises(PayloadTooLarge):
        await vault.secrets.put(root, "secret", "app", {f"f{n}": "" for n in range(1001)})
    for path in ("a/../b", "a//b", "%2e%2e/x", "a\x00b", ""):
        with pytest.raises(ValidationError):
            await vault.secrets.put(root, "secret", path, {"a": "b"})
    with pytest.raises(ValidationError):
        await vault.secrets.put(root, "secret", "app", {"a": "b"}, cas=-1)
    with pytest.raises(ValidationError):
        await vault.secrets.write_metadata(root, "secret", "app", max_versions=-1)
    with pytest.raises(ValidationError):
        await vault.secrets.write_metadata(root, "secret", "app", custom_metadata={"k": 1})  # type: ignore[dict-item]


# --- who may do what --------------------------------------------------------------------

Operation = Callable[[Keystead, Principal], Awaitable[object]]
OPERATIONS: dict[str, Operation] = {
    "read": lambda ks, p: ks.secrets.get(p, "secret", "payments/stripe"),
    "write": lambda ks, p: ks.secrets.put(p, "secret", "payments/stripe", {"k": "v"}),
    "patch": lambda ks, p: ks.secrets.patch(p, "secret", "payments/stripe", {"k": "w"}),
    "delete": lambda ks, p: ks.secrets.delete(p, "secret", "payments/stripe"),
    "undelete": lambda ks, p: ks.secrets.undelete(p, "secret", "payments/stripe", [1]),
    "destroy": lambda ks, p: ks.secrets.destroy(p, "secret", "payments/stripe", [1]),
    "metadata": lambda ks, p: ks.secrets.read_metadata(p, "secret", "payments/stripe"),
    "write_metadata": lambda ks, p: ks.secrets.write_metadata(
        p, "secret", "payments/stripe", max_versions=5
    ),
    "delete_metadata": lambda ks, p: ks.secrets.delete_metadata(p, "secret", "payments/stripe"),
    "list": lambda ks, p: ks.secrets.list(p, "secret", "payments"),
    "subkeys": lambda ks, p: ks.secrets.subkeys(p, "secret", "payments/stripe"),
    "config": lambda ks, p: ks.secrets.read_config(p, "secret"),
}
NEEDS = {
    "read": "read",
    "write": "write",
    "patch": "write",
    "delete": "delete",
    "undelete": "delete",
    "destroy": "destroy",
    "metadata": "read",
    "write_metadata": "admin",
    "delete_metadata": "destroy",
    "list": "list",
    "subkeys": "read",
    "config": "mount-admin",
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_each_operation_takes_its_permission_on_the_path(
    vault: Keystead, root: Principal, operation: str
) -> None:
    await vault.secrets.put(root, "secret", "payments/stripe", {"k": "v"})
    run = OPERATIONS[operation]
    need = NEEDS[operation]
    for action in ("read", "write", "delete", "destroy", "list", "admin"):
        principal = scoped(root, f"secrets.{action}:secret/payments/*")
        allowed = need == action or (action == "admin" and need != "mount-admin")
        if allowed:
            await run(vault, principal)
            await vault.secrets.put(root, "secret", "payments/stripe", {"k": "v"})
        else:
            with pytest.raises(Forbidden):
                await run(vault, principal)
    # another path of the same mount, another mount, nothing at all: refused
    for grants in (("secrets.*:secret/billing/*",), ("secrets.*:kv/*",), ()):
        with pytest.raises(Forbidden):
            await run(vault, scoped(root, *grants))
    await run(vault, scoped(root, "secrets.admin"))


async def test_a_scoped_token_reads_its_folder_and_nothing_else(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "payments/stripe", {"k": "v"})
    await vault.secrets.put(root, "secret", "admin/db", {"k": "v"})
    app = scoped(root, "secrets.read:secret/payments/*")
    assert (await vault.secrets.get(app, "secret", "payments/stripe")).data == {"k": "v"}
    for path in ("admin/db", "payments", "payments/../admin/db"):
        with pytest.raises((Forbidden, ValidationError)):
            await vault.secrets.get(app, "secret", path)
    with pytest.raises(Forbidden):
        await vault.secrets.list(app, "secret", "payments")
    with pytest.raises(Forbidden):  # listing mounts needs secrets.list on some scope
        await vault.secrets.list_mounts(app)


async def test_another_workspace_s_secrets_do_not_exist(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "payments/stripe", {"k": "v"})
    other = (await vault.workspaces.create("other")).workspace
    stranger = await vault.workspaces.local_operator(other.id)
    with pytest.raises(NotFound):
        await vault.secrets.get(stranger, "secret", "payments/stripe")
    with pytest.raises(NotFound):
        await vault.secrets.read_metadata(stranger, "secret", "payments/stripe")
    with pytest.raises(NotFound):
        await vault.secrets.destroy(stranger, "secret", "payments/stripe", [1])
    assert await vault.secrets.list(stranger, "secret") == []
    # the same path in the other workspace is its own secret
    assert (
        await vault.secrets.put(stranger, "secret", "payments/stripe", {"k": "w"})
    ).version.version == 1
    assert (await vault.secrets.get(root, "secret", "payments/stripe")).data == {"k": "v"}


# --- audit, events and logs -------------------------------------------------------------


async def test_audit_and_logs_name_path_and_version_never_the_value(
    vault: Keystead, root: Principal, caplog: pytest.LogCaptureFixture
) -> None:
    value = f"leak-{random.token_hex(16)}"
    caplog.set_level(logging.DEBUG)
    await vault.secrets.put(root, "secret", "app", {"token": value})
    await vault.secrets.patch(root, "secret", "app", {"other": value})
    await vault.secrets.get(root, "secret", "app", 1)
    await vault.secrets.delete(root, "secret", "app", [1])
    await vault.secrets.destroy(root, "secret", "app", [1])

    entries = await vault.store.audit_entries(root.workspace_id, after=0, limit=100)
    seen = [
        (e.record.action, e.record.target_id, e.record.changes.get("after"))
        for e in entries
        if e.record.target_type == "secret"
    ]
    assert seen == [
        ("secret.write", "secret/app", {"version": 1}),
        ("secret.write", "secret/app", {"version": 2}),
        ("secret.read", "secret/app", {"version": 1}),
        ("secret.delete", "secret/app", {"versions": [1]}),
        ("secret.destroy", "secret/app", {"versions": [1]}),
    ]
    assert all(e.record.actor == root.actor for e in entries)
    assert value not in repr(entries)
    assert value not in caplog.text


async def test_changes_reach_the_outbox(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    await vault.secrets.put(root, "secret", "app", {"k": "w"})
    await vault.secrets.delete(root, "secret", "app")
    await vault.secrets.destroy(root, "secret", "app", [1])
    await vault.secrets.delete_metadata(root, "secret", "app")
    events = await vault.store.list_events(root.workspace_id, after=None, limit=100)
    events = [e for e in events if e.type.startswith("secret.")]
    # one clock millisecond: the ids do not order these events
    assert sorted((e.type, e.data["versions"]) for e in events) == [
        ("secret.created", [1]),
        ("secret.deleted", [2]),
        ("secret.destroyed", [1]),
        ("secret.destroyed", [1, 2]),
        ("secret.updated", [2]),
    ]
    assert all(e.data["path"] == "app" and "k" not in e.data for e in events)
