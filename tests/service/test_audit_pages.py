"""``Keystead.audit.verify`` streams the chain in pages from one snapshot: a
chain longer than a page is checked with the same exact reports, no read asks
for more than a page, and changes committed meanwhile are not breaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from keystead.config import Settings
from keystead.core.audit import AuditEntry, AuditReport
from keystead.core.authz import Principal
from keystead.errors import ValidationError
from keystead.service import Keystead
from keystead.store.sql.audit_queries import SqlAuditSnapshot

PAGE = 10
LENGTH = 25  # the workspace's creation, an API, 23 keys: three pages
Breaks = list[tuple[str, int, str]]


@pytest.fixture
async def chain(keystead: Keystead, admin: Principal) -> AsyncIterator[Principal]:
    api = await keystead.apis.create(admin, name="shop")
    for n in range(LENGTH - 2):
        await keystead.keys.create(admin, api_id=api.id, name=f"k{n}")
    yield admin


@pytest.fixture
def sql(settings: Settings) -> Iterator[sa.Engine]:
    url = settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    url = url.replace("mysql://", "mysql+pymysql://", 1)
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def _breaks(report: AuditReport) -> Breaks:
    return [(b.kind, b.seq, b.detail) for b in report.breaks]


async def _paged_and_whole(ks: Keystead, who: Principal) -> Breaks:
    """The report in pages of ``PAGE``, checked equal to the one-page report."""
    paged = await ks.audit.verify(who, page_size=PAGE)
    assert paged == await ks.audit.verify(who)
    assert not paged.ok
    return _breaks(paged)


def _run(engine: sa.Engine, *statements: str, **params: Any) -> None:
    with engine.begin() as c:
        for statement in statements:
            c.execute(sa.text(statement), params)


async def test_a_long_clean_chain_verifies_in_pages(keystead: Keystead, chain: Principal) -> None:
    await keystead.audit.checkpoint(chain)
    report = await keystead.audit.verify(chain, page_size=PAGE)
    assert report.ok, report.breaks
    assert (report.entries, report.head_seq, report.checkpoints) == (LENGTH, LENGTH, 1)
    exact = await keystead.audit.verify(chain, page_size=LENGTH)  # a full last page
    assert exact == report == await keystead.audit.verify(chain, page_size=1)


async def test_a_modified_entry_in_the_second_page(
    keystead: Keystead, chain: Principal, sql: sa.Engine
) -> None:
    _run(sql, "UPDATE ks_audit SET actor = 'nobody' WHERE seq = 14")
    assert await _paged_and_whole(keystead, chain) == [
        ("modified", 14, "the entry does not match its hash")
    ]


async def test_a_deletion_across_a_page_boundary(
    keystead: Keystead, chain: Principal, sql: sa.Engine
) -> None:
    """Seqs 11 and 12 gone: the first page ends at 10, the second starts at 13."""
    _run(sql, "DELETE FROM ks_audit WHERE seq IN (11, 12)")
    assert await _paged_and_whole(keystead, chain) == [("deleted", 11, "entries 11-12 are missing")]


async def test_rows_swapped_across_a_page_boundary(
    keystead: Keystead, chain: Principal, sql: sa.Engine
) -> None:
    _run(
        sql,
        "UPDATE ks_audit SET seq = -10 WHERE seq = 10",
        "UPDATE ks_audit SET seq = 10 WHERE seq = 11",
        "UPDATE ks_audit SET seq = 11 WHERE seq = -10",
    )
    assert await _paged_and_whole(keystead, chain) == [
        ("reordered", 10, "this entry belongs at seq 11"),
        ("reordered", 11, "this entry belongs at seq 10"),
    ]


async def test_a_forged_link_in_the_third_page(
    keystead: Keystead, chain: Principal, sql: sa.Engine
) -> None:
    """Re-pointed at an entry two pages back: still an entry that does not link,
    and the one after it no longer links to it."""
    _run(
        sql,
        "UPDATE ks_audit SET prev_hash = (SELECT hash FROM ks_audit WHERE seq = 2) WHERE seq = 22",
    )
    assert await _paged_and_whole(keystead, chain) == [
        ("modified", 22, "the entry does not match its hash")
    ]


async def test_a_truncated_tail_against_checkpoints_in_pages(
    keystead: Keystead, chain: Principal, sql: sa.Engine
) -> None:
    (early,) = await keystead.audit.checkpoint(chain)
    api = await keystead.apis.create(chain, name="later")
    for n in range(3):
        await keystead.keys.create(chain, api_id=api.id, name=f"late{n}")
    (late,) = await keystead.audit.checkpoint(chain)
    assert (early.seq, late.seq) == (LENGTH, LENGTH + 4)
    with sql.begin() as c:
        kept = c.execute(sa.text("SELECT hash FROM ks_audit WHERE seq = 14")).scalar_one()
        c.execute(sa.text("DELETE FROM ks_audit WHERE seq > 14"))
        c.execute(sa.text("UPDATE ks_audit_heads SET seq = 14, hash = :h"), {"h": kept})
    assert await _paged_and_whole(keystead, chain) == [
        ("truncated", LENGTH, "the checkpointed entry is missing"),
        ("truncated", LENGTH + 4, "the checkpointed entry is missing"),
    ]


async def test_no_read_asks_for_more_than_a_page(
    keystead: Keystead, chain: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        await keystead.keys.create(chain, api_id=(await keystead.apis.list(chain))[0].id)
        await keystead.audit.checkpoint(chain)
    reads: list[tuple[str, int, int]] = []

    def spy(name: str, read: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapped(self: SqlAuditSnapshot, *, after: int, limit: int) -> Any:
            found = await read(self, after=after, limit=limit)
            reads.append((name, limit, len(found)))
            return found

        return wrapped

    monkeypatch.setattr(SqlAuditSnapshot, "entries", spy("entries", SqlAuditSnapshot.entries))
    monkeypatch.setattr(
        SqlAuditSnapshot, "checkpoints", spy("checkpoints", SqlAuditSnapshot.checkpoints)
    )
    report = await keystead.audit.verify(chain, page_size=2)
    assert report.ok and (report.entries, report.checkpoints) == (LENGTH + 3, 3)
    assert {limit for _, limit, _ in reads} == {2}
    assert max(size for _, _, size in reads) == 2
    assert sum(size for name, _, size in reads if name == "entries") == LENGTH + 3


async def test_changes_committed_during_verification_are_not_breaks(
    keystead: Keystead, chain: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot is taken at the first read: a change appended while the
    pages are read is neither an entry past the head nor a missing one."""
    api = (await keystead.apis.list(chain))[0]
    read = SqlAuditSnapshot.entries
    appended: list[str] = []

    async def busy(self: SqlAuditSnapshot, *, after: int, limit: int) -> list[AuditEntry]:
        if after == 0:
            appended.append((await keystead.keys.create(chain, api_id=api.id)).key.id)
        return await read(self, after=after, limit=limit)

    monkeypatch.setattr(SqlAuditSnapshot, "entries", busy)
    report = await keystead.audit.verify(chain, page_size=PAGE)
    assert appended and report.ok, report.breaks
    assert report.entries == LENGTH
    monkeypatch.undo()
    after = await keystead.audit.verify(chain, page_size=PAGE)
    assert after.ok and after.entries == LENGTH + 1


async def test_a_page_size_is_positive(keystead: Keystead, admin: Principal) -> None:
    with pytest.raises(ValidationError):
        await keystead.audit.verify(admin, page_size=0)


async def test_an_export_reads_one_snapshot_in_pages(
    keystead: Keystead, chain: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries appended while an export is read are not part of it: the export
    is the chain as it stood at its first page, every entry once, in order."""
    api = (await keystead.apis.list(chain))[0]
    read = SqlAuditSnapshot.entries
    pages: list[int] = []

    async def busy(self: SqlAuditSnapshot, *, after: int, limit: int) -> list[AuditEntry]:
        pages.append(after)
        if after > 0:  # between pages: another request changes something
            await keystead.keys.create(chain, api_id=api.id)
        return await read(self, after=after, limit=limit)

    monkeypatch.setattr(SqlAuditSnapshot, "entries", busy)
    exported = [e async for e in keystead.audit.export(chain, page_size=PAGE)]
    assert len(pages) == 3  # three pages of at most PAGE entries
    assert [e.seq for e in exported] == list(range(1, LENGTH + 1))
    monkeypatch.undo()
    now = [e async for e in keystead.audit.export(chain, page_size=PAGE)]
    assert len(now) == LENGTH + 2 and now[:LENGTH] == exported
    with pytest.raises(ValidationError):
        [e async for e in keystead.audit.export(chain, page_size=0)]
