"""Reads audited by group commit (``service/audit_batch.py``): the entries of
concurrent reads share a transaction, the chain stays whole and in arrival order,
and a read whose entry cannot be written fails without its value; on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from transit_support import decrypt, encrypt, transit_root

from keystead.config import Settings
from keystead.core.audit import AuditEntry, AuditRecord
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.errors import StoreUnavailable
from keystead.service import Keystead


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


async def _entries(ks: Keystead, who: Principal) -> list[AuditEntry]:
    return [e async for e in ks.audit.export(who)]


async def test_entries_waiting_together_commit_in_one_batch_in_arrival_order(
    vault: Keystead, root: Principal
) -> None:
    before = vault._ctx.reads.batches
    await asyncio.gather(
        *(vault._ctx.audit_read(root, "secret.read", "secret", f"secret/p{n}") for n in range(50))
    )

    assert vault._ctx.reads.batches == before + 1
    reads = [e for e in await _entries(vault, root) if e.record.action == "secret.read"]
    assert [e.record.target_id for e in reads] == [f"secret/p{n}" for n in range(50)]
    assert [e.seq for e in reads] == list(range(reads[0].seq, reads[0].seq + 50))
    report = await vault.audit.verify(root)
    assert report.ok, report.breaks


async def test_fifty_concurrent_reads_among_writes_keep_one_intact_chain(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "app/db", {"password": "pw-1"})

    async def write(n: int) -> object:
        return await vault.secrets.put(root, "secret", f"app/w{n}", {"v": str(n)})

    async def read(_n: int) -> object:
        return await vault.secrets.get(root, "secret", "app/db")

    done = await asyncio.gather(*(read(n) if n % 6 else write(n) for n in range(60)))

    assert len(done) == 60
    entries = await _entries(vault, root)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    reads = [e.record for e in entries if e.record.action == "secret.read"]
    assert len(reads) == 50
    assert {(r.target_id, r.changes["after"]["version"]) for r in reads} == {("secret/app/db", 1)}
    assert len([e for e in entries if e.record.action == "secret.write"]) == 11
    report = await vault.audit.verify(root)
    assert report.ok and report.entries == len(entries)


async def test_concurrent_reads_on_two_nodes_form_one_gap_free_chain(
    settings: Settings, clock: ManualClock
) -> None:
    one = await Keystead.open(settings=settings, clock=clock, create_master_key=True)
    two = await Keystead.open(settings=settings, clock=clock)
    try:
        who = await one.workspaces.local_operator()
        await one.secrets.put(who, "secret", "shared", {"k": "v"})
        await asyncio.gather(
            *((one if n % 2 else two).secrets.get(who, "secret", "shared") for n in range(50))
        )
        entries = await _entries(two, who)
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert len([e for e in entries if e.record.action == "secret.read"]) == 50
        report = await one.audit.verify(who)
        assert report.ok, report.breaks
    finally:
        await one.close()
        await two.close()


async def test_transit_operations_are_audited_in_batches_too(vault: Keystead) -> None:
    who = await transit_root(vault)
    await vault.transit.create_key(who, "transit", "orders")
    sealed = await asyncio.gather(*(encrypt(vault, who, "orders", b"n%d" % n) for n in range(20)))
    opened = await asyncio.gather(*(decrypt(vault, who, "orders", c) for c in sealed))

    assert opened == [b"n%d" % n for n in range(20)]
    actions = [e.record.action for e in await _entries(vault, who)]
    assert (actions.count("transit.encrypt"), actions.count("transit.decrypt")) == (20, 20)
    assert (await vault.audit.verify(who)).ok


async def _refuse(_records: Sequence[AuditRecord]) -> None:
    raise StoreUnavailable("the sqlite store failed: OperationalError")


async def test_a_read_whose_entry_cannot_be_written_fails_without_its_value(
    vault: Keystead, root: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    await vault.secrets.put(root, "secret", "app/db", {"password": "pw-secret"})
    transit = await transit_root(vault)
    await vault.transit.create_key(transit, "transit", "orders")
    monkeypatch.setattr(vault.store, "append_audit", _refuse)

    reads = await asyncio.gather(
        *(vault.secrets.get(root, "secret", "app/db") for _ in range(5)),
        vault.transit.encrypt(transit, "transit", "orders", [{"plaintext": "aGk="}]),
        return_exceptions=True,
    )

    assert all(isinstance(r, StoreUnavailable) for r in reads), reads
    monkeypatch.undo()
    entries = await _entries(vault, root)
    assert not [e for e in entries if e.record.action in ("secret.read", "transit.encrypt")]
    assert (await vault.secrets.get(root, "secret", "app/db")).data == {"password": "pw-secret"}
    assert (await vault.audit.verify(root)).ok
