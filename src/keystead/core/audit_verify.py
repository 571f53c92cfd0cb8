"""Verification of a stored audit chain, streamed in pages.

``ChainVerifier`` is fed a workspace's entries in seq order (seqs are unique,
as the store's key makes them), a page at a time, and the signed checkpoints
as it goes. It holds the page being checked, the page after it (a link check
looks one entry ahead) and the hashes of the page before it, so its memory
depends on the page size, never on the chain's length.

Its report is the one a check of the whole chain at once gives. Most breaks
are classified from that window; a break whose kind depends on an entry
further away (an intact entry moved more than a page, an entry linking to a
hash not nearby) waits for ``locate``: a second pass over the chain that looks
up just those hashes. At most ``max_breaks`` breaks are kept, lowest seqs
first; the report counts the rest.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from keystead.core.audit import (
    GENESIS,
    AuditBreak,
    AuditEntry,
    AuditReport,
    BreakKind,
    Checkpoint,
    entry_hash,
)

MAX_BREAKS = 1000
_REORDER_WINDOW = 64
# breaks at the same seq keep this order: the entry's own, the head's, the checkpoints'
_ENTRY, _HEAD, _CHECKPOINT = 0, 1, 2

Open = Literal["home", "link"]
"""What a break's kind still depends on: where the entry ``prev_hash`` names
sits. ``home``: an entry that fails its hash may verify one seq after it
(moved). ``link``: an entry that links to it links elsewhere in the chain."""

_Key = tuple[int, int, int]


class ChainVerifier:
    """Checks one workspace's chain: ``add_entries`` page by page, after each
    page ``add_checkpoints`` for the checkpoints up to its last seq, then
    ``end_entries`` and the checkpoints past the last entry; when ``wanted`` is
    not empty, ``locate`` over every page again; then ``finish``."""

    def __init__(
        self, workspace_id: str, *, head: tuple[int, str] | None, max_breaks: int = MAX_BREAKS
    ) -> None:
        if max_breaks < 1:
            raise ValueError("max_breaks is at least 1")
        self._workspace_id = workspace_id
        self._head = head
        self._max_breaks = max_breaks
        self._held: list[AuditEntry] = []  # added, not checked yet
        self._behind: dict[str, int] = {}  # hash -> seq of the page checked last
        self._page_seqs: dict[int, str] = {}  # seq -> hash of the page added last
        self._floor = 0  # the last seq of the page before that one
        self._prev: AuditEntry | None = None  # the last entry checked, duplicates aside
        self._prev_broken = False
        self._last: AuditEntry | None = None  # the last entry checked
        self._head_seen = False
        self._ended = False
        self._entries = 0
        self._checkpoints = 0
        self._kept: list[tuple[_Key, AuditBreak]] = []  # a heap of negated keys: max first
        self._open: dict[int, tuple[AuditEntry, Open]] = {}  # by order, kept breaks only
        self._located: dict[str, int] = {}
        self._omitted = 0
        self._order = 0

    def add_entries(self, page: Sequence[AuditEntry]) -> None:
        """The next page, in seq order; checks the page added before it."""
        if self._ended:
            raise ValueError("the entries have ended")
        if not page:
            return
        if self._held:
            self._check(self._held, page)
            self._floor = self._held[-1].seq
        self._held = list(page)
        self._page_seqs = {e.seq: e.hash for e in page}

    def add_checkpoints(self, checkpoints: Iterable[tuple[Checkpoint, bool]]) -> None:
        """Checkpoints in seq order, each with whether its signature verified:
        those up to the last seq of the page just added, or, after
        ``end_entries``, the rest."""
        top = self._held[-1].seq if self._held else 0
        for checkpoint, signature_ok in checkpoints:
            seq = checkpoint.seq
            self._checkpoints += 1
            order = self._next()
            if not signature_ok:
                detail = "the signature does not verify"
                self._add("checkpoint_invalid", seq, detail, _CHECKPOINT, order)
                continue
            if seq <= self._floor or (seq > top and not self._ended):
                raise ValueError(f"checkpoint {seq} is out of step with the entries added")
            at_seq = self._page_seqs.get(seq)
            if at_seq != checkpoint.hash:
                what = "is missing" if at_seq is None else "has a different hash"
                self._add("truncated", seq, f"the checkpointed entry {what}", _CHECKPOINT, order)

    def end_entries(self) -> None:
        """No more entries: check the last page."""
        if not self._ended:
            self._check(self._held, ())
            self._held = []
            self._ended = True

    def wanted(self) -> frozenset[str]:
        """The hashes whose seq in the whole chain the open breaks wait for
        (known once the entries have ended)."""
        if not self._ended:
            raise ValueError("the entries have not ended")
        return frozenset(entry.prev_hash for entry, _ in self._open.values())

    def locate(self, page: Sequence[AuditEntry]) -> None:
        """A page of the second pass (seq order): note where wanted hashes sit."""
        wanted = self.wanted()
        self._located.update((e.hash, e.seq) for e in page if e.hash in wanted)

    def finish(self) -> AuditReport:
        self.end_entries()
        last = self._last
        if self._head is None:
            if last is not None:
                self._add("inserted", last.seq, "no head was recorded", _HEAD)
        else:
            head_seq = self._head[0]
            last_seq = 0 if last is None else last.seq
            if head_seq > last_seq:
                self._add("truncated", last_seq + 1, f"the head is at seq {head_seq}", _HEAD)
        kept = sorted((_positive(key), self._settle(key, found)) for key, found in self._kept)
        return AuditReport(
            workspace_id=self._workspace_id,
            entries=self._entries,
            head_seq=0 if last is None else last.seq,
            checkpoints=self._checkpoints,
            breaks=tuple(found for _, found in kept),
            breaks_omitted=self._omitted,
        )

    def _check(self, page: Sequence[AuditEntry], ahead: Sequence[AuditEntry]) -> None:
        window = dict(self._behind)
        for part in (page, ahead):
            window.update((e.hash, e.seq) for e in part)
        for index, entry in enumerate(page):
            nxt = page[index + 1] if index + 1 < len(page) else (ahead[0] if ahead else None)
            self._check_one(entry, nxt, window)
        self._behind = {e.hash: e.seq for e in page}

    def _check_one(
        self, entry: AuditEntry, nxt: AuditEntry | None, window: Mapping[str, int]
    ) -> None:
        self._entries += 1
        prev = self._prev
        if prev is not None and entry.seq <= prev.seq:
            self._add("inserted", entry.seq, "a second entry with this seq", _ENTRY)
        else:
            expected = 1 if prev is None else prev.seq + 1
            gap = entry.seq > expected
            if gap:
                missing = (
                    f"{expected}" if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
                )
                self._add("deleted", expected, f"entries {missing} are missing", _ENTRY)
            found, still_open = _check_entry(entry, prev, nxt, window, gap or self._prev_broken)
            if found is not None:
                order = self._add(found.kind, found.seq, found.detail, _ENTRY)
                if order is not None and still_open is not None:
                    self._open[order] = (entry, still_open)
            self._prev, self._prev_broken = entry, found is not None
        if self._head is not None:
            head_seq, head_hash = self._head
            if entry.seq == head_seq and not self._head_seen:
                self._head_seen = True
                if entry.hash != head_hash:
                    self._add("truncated", head_seq, "the head names a different hash", _HEAD)
            elif entry.seq > head_seq:
                self._add("inserted", entry.seq, "appended outside the head", _HEAD)
        self._last = entry

    def _settle(self, key: _Key, found: AuditBreak) -> AuditBreak:
        """An open break's final kind, now that the second pass has run."""
        waiting = self._open.get(-key[2])
        if waiting is None:
            return found
        entry, what = waiting
        linked = self._located.get(entry.prev_hash)
        if linked is None:
            return found
        if what == "link":
            return AuditBreak("reordered", entry.seq, "the entry links to another position")
        home = linked + 1
        if (
            home > 0
            and home != entry.seq
            and entry_hash(entry.record, home, entry.prev_hash) == (entry.hash)
        ):
            return AuditBreak("reordered", entry.seq, f"this entry belongs at seq {home}")
        return found

    def _next(self) -> int:
        self._order += 1
        return self._order

    def _add(
        self, kind: BreakKind, seq: int, detail: str, phase: int, order: int | None = None
    ) -> int | None:
        """Keep the break if it is among the lowest ``max_breaks``; its order if kept."""
        order = self._next() if order is None else order
        item = ((-seq, -phase, -order), AuditBreak(kind, seq, detail))
        if len(self._kept) < self._max_breaks:
            heapq.heappush(self._kept, item)
            return order
        self._omitted += 1
        if item[0] <= self._kept[0][0]:  # not below the highest kept
            return None
        dropped = heapq.heapreplace(self._kept, item)
        self._open.pop(-dropped[0][2], None)
        return order


def verify_chain(
    workspace_id: str,
    entries: Sequence[AuditEntry],
    *,
    head: tuple[int, str] | None = None,
    checkpoints: Sequence[tuple[Checkpoint, bool]] = (),
) -> AuditReport:
    """Check a whole chain held in memory (any order), as one page."""
    ordered = sorted(entries, key=lambda e: e.seq)
    verifier = ChainVerifier(workspace_id, head=head)
    verifier.add_entries(ordered)
    verifier.end_entries()
    verifier.add_checkpoints(sorted(checkpoints, key=lambda c: c[0].seq))
    if verifier.wanted():
        verifier.locate(ordered)
    return verifier.finish()


def _positive(key: _Key) -> _Key:
    return (-key[0], -key[1], -key[2])


def _home(entry: AuditEntry, window: Mapping[str, int]) -> int | None:
    """The seq an intact entry was chained at, when it now sits elsewhere."""
    linked = window.get(entry.prev_hash)
    candidates = [1] if entry.prev_hash == GENESIS else []
    if linked is not None:
        candidates.append(linked + 1)
    candidates.extend(range(entry.seq - _REORDER_WINDOW, entry.seq + _REORDER_WINDOW))
    for seq in candidates:
        if seq > 0 and seq != entry.seq:
            if entry_hash(entry.record, seq, entry.prev_hash) == entry.hash:
                return seq
    return None


def _check_entry(
    entry: AuditEntry,
    prev: AuditEntry | None,
    nxt: AuditEntry | None,
    window: Mapping[str, int],
    skip_link: bool,
) -> tuple[AuditBreak | None, Open | None]:
    """The break at ``entry``, if any, and what its kind still depends on when
    the entry ``prev_hash`` names is not in the window."""
    far = entry.prev_hash not in window
    if entry_hash(entry.record, entry.seq, entry.prev_hash) != entry.hash:
        home = _home(entry, window)
        if home is not None:
            return AuditBreak("reordered", entry.seq, f"this entry belongs at seq {home}"), None
        found = AuditBreak("modified", entry.seq, "the entry does not match its hash")
        return found, "home" if far else None
    expected_prev = GENESIS if prev is None else prev.hash
    if skip_link or entry.prev_hash == expected_prev:
        return None, None
    if prev is not None and nxt is not None and nxt.prev_hash == prev.hash:
        return AuditBreak("inserted", entry.seq, "the chain skips this entry"), None
    if not far:
        return AuditBreak("reordered", entry.seq, "the entry links to another position"), None
    found = AuditBreak("inserted", entry.seq, "the entry does not link to the one before it")
    return found, "link"


__all__ = ["MAX_BREAKS", "ChainVerifier", "verify_chain"]
