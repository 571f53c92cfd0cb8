"""Consumers of stored secrets: which credential read which version, and when, on
SQLite and PostgreSQL. Reads are buffered and written in batches; ``consumers``
writes this node's buffer before it answers."""

from __future__ import annotations

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.permissions import GrantSet
from keystead.errors import Forbidden, NotFound
from keystead.service import Keystead
from keystead.service.secret_consumers import ConsumerRecorder


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


async def token(vault: Keystead, root: Principal, name: str, *grants: str) -> Principal:
    """A machine token of ``root``'s workspace, as an application would hold it."""
    created = await vault.root_keys.create(root, name=name, permissions=list(grants))
    return await vault.root_keys.authenticate(created.plaintext)


async def test_two_credentials_show_as_consumers_of_the_versions_they_read(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    await vault.secrets.put(root, "secret", "payments/stripe", {"api_key": "sk_1"})
    await vault.secrets.put(root, "secret", "payments/stripe", {"api_key": "sk_2"})
    billing = await token(vault, root, "billing", "secrets.read:secret/payments/*")
    checkout = await token(vault, root, "checkout", "secrets.read:secret/payments/*")

    first = clock.now()
    await vault.secrets.get(billing, "secret", "payments/stripe", 1)
    clock.advance(60)
    await vault.secrets.get(billing, "secret", "payments/stripe", 1)
    await vault.secrets.get(checkout, "secret", "payments/stripe")
    clock.advance(60)
    await vault.secrets.get(checkout, "secret", "payments/stripe")
    await vault.secrets.get(checkout, "secret", "payments/stripe")

    answer = await vault.secret_consumers.consumers(root, "secret", "payments/stripe")
    assert answer.current_version == 2
    seen = [(c.version, c.name, c.reads) for c in answer.items]
    assert seen == [(2, "checkout", 3), (1, "billing", 2)]
    checkout_reads, billing_reads = answer.items
    assert checkout_reads.kind == "root_key" and checkout_reads.credential.startswith("rk_")
    assert checkout_reads.start is not None and checkout_reads.start.startswith("ksroot_")
    assert billing_reads.first_read.timestamp() == first
    assert billing_reads.last_read.timestamp() == first + 60
    assert checkout_reads.last_read.timestamp() == first + 120
    assert "sk_" not in repr(answer)

    only_one = await vault.secret_consumers.consumers(root, "secret", "payments/stripe", 1)
    assert [(c.version, c.name) for c in only_one.items] == [(1, "billing")]


async def test_who_still_reads_version_3_after_a_new_version_is_written(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    for n in (1, 2, 3):
        await vault.secrets.put(root, "secret", "db", {"password": f"pw{n}"})
    old_app = await token(vault, root, "old deploy", "secrets.read:secret/db")
    new_app = await token(vault, root, "new deploy", "secrets.read:secret/db")
    await vault.secrets.get(old_app, "secret", "db")  # version 3, the current one
    await vault.secrets.get(new_app, "secret", "db")
    await vault.flush()

    await vault.secrets.put(root, "secret", "db", {"password": "pw4"})
    clock.advance(3600)
    await vault.secrets.get(new_app, "secret", "db")  # moves to version 4
    await vault.secrets.get(old_app, "secret", "db", 3)  # still pinned to 3

    v3 = await vault.secret_consumers.consumers(root, "secret", "db", version=3)
    latest = {c.name: c.last_read.timestamp() for c in v3.items}
    # both read version 3, but only the old deploy still does (its last read is recent)
    assert latest == {"old deploy": clock.now(), "new deploy": clock.now() - 3600}
    v4 = await vault.secret_consumers.consumers(root, "secret", "db", version=4)
    assert [c.name for c in v4.items] == ["new deploy"]


async def test_the_local_operator_is_named_as_such_and_revoked_keys_are_flagged(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    app = await token(vault, root, "app", "secrets.read:secret/app")
    await vault.secrets.get(root, "secret", "app")
    await vault.secrets.get(app, "secret", "app")
    await vault.root_keys.revoke(root, app.actor.removeprefix("root_key:"))

    items = (await vault.secret_consumers.consumers(root, "secret", "app")).items
    by_kind = {c.kind: c for c in items}
    assert by_kind["local_operator"].credential == "cli"
    assert by_kind["local_operator"].name == "local operator"
    assert by_kind["root_key"].revoked is True


async def test_only_value_reads_count(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    await vault.secrets.subkeys(root, "secret", "app")
    await vault.secrets.read_metadata(root, "secret", "app")
    await vault.secrets.delete(root, "secret", "app")
    with pytest.raises(NotFound):
        await vault.secrets.get(root, "secret", "app")  # deleted: no value answered
    assert (await vault.secret_consumers.consumers(root, "secret", "app")).items == []


async def test_reads_are_buffered_until_a_flush(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    secret = await vault.secrets.read_metadata(root, "secret", "app")
    for _ in range(5):
        await vault.secrets.get(root, "secret", "app")
    assert await vault.store.list_secret_consumers(root.workspace_id, secret.id) == []
    await vault.flush()
    stored = await vault.store.list_secret_consumers(root.workspace_id, secret.id)
    assert [(c.version, c.credential, c.reads) for c in stored] == [(1, "cli", 5)]
    for _ in range(2):
        await vault.secrets.get(root, "secret", "app")
    await vault.flush()  # a second batch adds to the first row
    stored = await vault.store.list_secret_consumers(root.workspace_id, secret.id)
    assert [c.reads for c in stored] == [7]


async def test_a_full_buffer_drops_new_entries_and_counts_them(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "a", {"k": "v"})
    await vault.secrets.put(root, "secret", "b", {"k": "v"})
    a = await vault.secrets.read_metadata(root, "secret", "a")
    b = await vault.secrets.read_metadata(root, "secret", "b")
    recorder = ConsumerRecorder(vault._ctx, capacity=1)
    now = a.created_time
    recorder.record(root, a, 1, now)
    recorder.record(root, a, 1, now)  # the same entry: counted
    recorder.record(root, b, 1, now)  # a new one past the capacity: dropped
    assert recorder.dropped == 1
    assert await recorder.flush() == 1
    await recorder.close()
    stored = await vault.store.list_secret_consumers(root.workspace_id, a.id)
    assert [c.reads for c in stored] == [2]


async def test_deleting_the_metadata_removes_its_consumers(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    old = await vault.secrets.read_metadata(root, "secret", "app")
    await vault.secrets.get(root, "secret", "app")
    await vault.flush()
    await vault.secrets.get(root, "secret", "app")  # buffered when the secret goes
    await vault.secrets.delete_metadata(root, "secret", "app")
    await vault.flush()
    assert await vault.store.list_secret_consumers(root.workspace_id, old.id) == []

    await vault.secrets.put(root, "secret", "app", {"k": "new"})  # the path is free again
    assert (await vault.secret_consumers.consumers(root, "secret", "app")).items == []


async def test_consumers_need_secrets_admin_on_the_path(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "payments/stripe", {"k": "v"})
    reader = Principal(root.workspace_id, "root_key:rk_r", GrantSet(["secrets.read"]))
    admin = Principal(
        root.workspace_id, "root_key:rk_a", GrantSet(["secrets.admin:secret/payments/*"])
    )
    with pytest.raises(Forbidden, match=r"secrets\.admin"):
        await vault.secret_consumers.consumers(reader, "secret", "payments/stripe")
    assert (await vault.secret_consumers.consumers(admin, "secret", "payments/stripe")).items == []
    with pytest.raises(Forbidden):
        await vault.secret_consumers.consumers(admin, "secret", "other")
    with pytest.raises(NotFound):
        await vault.secret_consumers.consumers(admin, "secret", "payments/none")


async def test_another_workspace_sees_nothing(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    await vault.secrets.get(root, "secret", "app")
    other = await vault.workspaces.create("other")
    theirs = await vault.root_keys.authenticate(other.root_key.plaintext)
    with pytest.raises(NotFound):
        await vault.secret_consumers.consumers(theirs, "secret", "app")
