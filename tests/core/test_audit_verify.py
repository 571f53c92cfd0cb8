"""The streaming chain verifier: fed in pages of any size, it reports exactly
what a check of the whole chain in one page reports, for any tampering; it
keeps a bounded number of breaks; and it refuses checkpoints out of step."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.core.audit import GENESIS, AuditEntry, AuditRecord, AuditReport, Checkpoint, chain
from keystead.core.audit_verify import ChainVerifier, verify_chain

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Signed = tuple[Checkpoint, bool]


def _chain(length: int) -> list[AuditEntry]:
    entries, prev = [], GENESIS
    for seq in range(1, length + 1):
        record = AuditRecord(
            id=f"aud_{seq}",
            workspace_id="ws_1",
            at=T0 + timedelta(seconds=seq),
            actor="cli",
            action="key.create",
            target_type="key",
            target_id=f"key_{seq}",
        )
        entry = chain(record, seq, prev)
        entries.append(entry)
        prev = entry.hash
    return entries


def _paged(
    entries: Sequence[AuditEntry],
    page: int,
    *,
    head: tuple[int, str] | None,
    checkpoints: Sequence[Signed] = (),
    max_breaks: int = 1000,
) -> AuditReport:
    """What the service does: pages, the checkpoints up to each page, a second
    pass when a break's kind depends on a distant entry."""
    verifier = ChainVerifier("ws_1", head=head, max_breaks=max_breaks)
    waiting = sorted(checkpoints, key=lambda c: c[0].seq)
    pages = [entries[i : i + page] for i in range(0, len(entries), page)]
    for part in pages:
        verifier.add_entries(part)
        ready = [c for c in waiting if c[0].seq <= part[-1].seq]
        waiting = waiting[len(ready) :]
        verifier.add_checkpoints(ready)
    verifier.end_entries()
    verifier.add_checkpoints(waiting)
    if verifier.wanted():
        for part in pages:
            verifier.locate(part)
    return verifier.finish()


def _swap(entries: list[AuditEntry], i: int, j: int) -> None:
    """Exchange two rows' contents, each keeping its seq (what an UPDATE does)."""
    a, b = entries[i], entries[j]
    entries[i], entries[j] = dataclasses.replace(b, seq=a.seq), dataclasses.replace(a, seq=b.seq)


Op = tuple[str, int, int]
OPS = st.tuples(
    st.sampled_from(["modify", "relink", "delete", "swap", "cut", "forge"]),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
)


def _tamper(entries: list[AuditEntry], ops: Sequence[Op]) -> list[AuditEntry]:
    out = list(entries)
    for name, a, b in ops:
        if not out:
            break
        i, j = a % len(out), b % len(out)
        if name == "modify":
            record = dataclasses.replace(out[i].record, actor="intruder")
            out[i] = dataclasses.replace(out[i], record=record)
        elif name == "relink":
            out[i] = dataclasses.replace(out[i], prev_hash=f"{b:064x}")
        elif name == "delete":
            del out[i : i + 1 + b % 3]
        elif name == "swap":
            _swap(out, i, j)
        elif name == "cut":
            del out[i:]
        else:
            last = out[-1]
            forged = dataclasses.replace(last.record, id="aud_forged", target_id="key_x")
            out.append(chain(forged, last.seq + 1, last.hash))
    return out


@settings(max_examples=150, deadline=None)
@given(
    length=st.integers(0, 160),
    page=st.integers(1, 12),
    ops=st.lists(OPS, max_size=4),
    marks=st.lists(st.tuples(st.integers(0, 10_000), st.booleans()), max_size=4),
    head_shift=st.sampled_from([None, 0, 0, 0, -2, 3]),
)
def test_pages_of_any_size_report_what_one_page_reports(
    length: int,
    page: int,
    ops: list[Op],
    marks: list[tuple[int, bool]],
    head_shift: int | None,
) -> None:
    original = _chain(length)
    head = None
    if head_shift is not None and original:
        seq = max(1, len(original) + head_shift)
        head = (seq, original[min(seq, len(original)) - 1].hash)
    checkpoints = {}
    for at, signed in marks:
        seq = at % (length + 3) + 1  # some past the end of the chain
        known = original[seq - 1].hash if seq <= length else "e" * 64
        checkpoints[seq] = (Checkpoint("ws_1", seq, known, T0), signed)
    signed_list = list(checkpoints.values())
    tampered = _tamper(original, ops)
    whole = verify_chain("ws_1", tampered, head=head, checkpoints=signed_list)
    assert _paged(tampered, page, head=head, checkpoints=signed_list) == whole
    if not ops and head_shift == 0 and all(ok for _, ok in signed_list):
        assert whole.ok == all(c.seq <= length for c, _ in signed_list)


def test_an_entry_moved_many_pages_away_is_found_where_it_belongs() -> None:
    entries = _chain(400)
    _swap(entries, 4, 349)  # seq 5 <-> seq 350: far past a page and the nearby search
    report = _paged(entries, 10, head=(400, entries[-1].hash))
    assert [(b.kind, b.seq, b.detail) for b in report.breaks] == [
        ("reordered", 5, "this entry belongs at seq 350"),
        ("reordered", 350, "this entry belongs at seq 5"),
    ]
    assert report == verify_chain("ws_1", entries, head=(400, entries[-1].hash))


def test_breaks_past_the_bound_are_counted_not_listed() -> None:
    entries = [
        dataclasses.replace(e, record=dataclasses.replace(e.record, actor="intruder"))
        for e in _chain(50)
    ]
    report = _paged(entries, 7, head=(50, entries[-1].hash), max_breaks=10)
    assert [b.seq for b in report.breaks] == list(range(1, 11))
    assert {b.kind for b in report.breaks} == {"modified"}
    assert report.breaks_omitted == 40 and not report.ok


def test_a_clean_chain_in_pages() -> None:
    entries = _chain(23)
    checkpoints = [(Checkpoint("ws_1", s, entries[s - 1].hash, T0), True) for s in (5, 10, 23)]
    report = _paged(entries, 5, head=(23, entries[-1].hash), checkpoints=checkpoints)
    assert report.ok and (report.entries, report.head_seq, report.checkpoints) == (23, 23, 3)


def test_checkpoints_out_of_step_are_refused() -> None:
    entries = _chain(10)
    verifier = ChainVerifier("ws_1", head=(10, entries[-1].hash))
    verifier.add_entries(entries[:5])
    ahead = Checkpoint("ws_1", 8, entries[7].hash, T0)
    with pytest.raises(ValueError, match="out of step"):
        verifier.add_checkpoints([(ahead, True)])  # its entry is not added yet
    verifier.add_entries(entries[5:])
    behind = Checkpoint("ws_1", 3, entries[2].hash, T0)
    with pytest.raises(ValueError, match="out of step"):
        verifier.add_checkpoints([(behind, True)])  # its page has gone
    with pytest.raises(ValueError, match="not ended"):
        verifier.wanted()
    verifier.end_entries()
    with pytest.raises(ValueError, match="ended"):
        verifier.add_entries(entries[:1])
