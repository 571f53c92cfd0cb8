"""The audit log's pure core: records, their canonical form and hash, the
changed-fields diff (secrets stripped), and verification of a stored chain.

An entry's hash is SHA-256 over its canonical JSON (sorted keys, no whitespace,
UTF-8), which includes ``prev_hash``: the hash of the entry before it in the same
workspace (``GENESIS`` for seq 1). docs/audit.md gives the exact form.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

GENESIS = "0" * 64
FORMAT_VERSION = 1

BreakKind = Literal[
    "modified", "deleted", "inserted", "reordered", "truncated", "checkpoint_invalid"
]

_SECRET_PARTS = ("secret", "hash", "cipher", "plaintext", "sealed", "jwe", "private", "token")
_SECRET_NAMES = frozenset({"key", "password"})
_REORDER_WINDOW = 64


@dataclass(slots=True, frozen=True)
class AuditRecord:
    """One management action, before it is chained (``seq`` and hashes come at
    append time, inside the transaction of the change)."""

    id: str
    workspace_id: str
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str | None
    changes: dict[str, Any] = field(default_factory=dict)
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(slots=True, frozen=True)
class AuditEntry:
    """A chained record, as stored."""

    record: AuditRecord
    seq: int
    prev_hash: str
    hash: str


@dataclass(slots=True, frozen=True)
class Checkpoint:
    """A signed statement that ``workspace_id``'s chain had head ``hash`` at ``seq``."""

    workspace_id: str
    seq: int
    hash: str
    at: datetime
    signature: str = ""


@dataclass(slots=True, frozen=True)
class AuditBreak:
    kind: BreakKind
    seq: int
    detail: str


@dataclass(slots=True, frozen=True)
class AuditReport:
    workspace_id: str
    entries: int
    head_seq: int
    checkpoints: int
    breaks: tuple[AuditBreak, ...]

    @property
    def ok(self) -> bool:
        return not self.breaks


def stamp(at: datetime) -> str:
    """The canonical time: UTC, microseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical(record: AuditRecord, seq: int, prev_hash: str) -> bytes:
    """The bytes an entry's hash covers."""
    return canonical_json(
        {
            "v": FORMAT_VERSION,
            "workspace_id": record.workspace_id,
            "seq": seq,
            "id": record.id,
            "at": stamp(record.at),
            "actor": record.actor,
            "ip": record.ip,
            "user_agent": record.user_agent,
            "request_id": record.request_id,
            "action": record.action,
            "target_type": record.target_type,
            "target_id": record.target_id,
            "changes": record.changes,
            "prev_hash": prev_hash,
        }
    )


def entry_hash(record: AuditRecord, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(record, seq, prev_hash)).hexdigest()


def chain(record: AuditRecord, seq: int, prev_hash: str) -> AuditEntry:
    return AuditEntry(record, seq, prev_hash, entry_hash(record, seq, prev_hash))


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(part in lowered for part in _SECRET_PARTS)


def plain(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with secret-named fields and bytes dropped."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {
            str(k): plain(v)
            for k, v in value.items()
            if not is_secret_field(str(k)) and not isinstance(v, bytes | bytearray)
        }
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def diff(before: Any, after: Any) -> dict[str, Any]:
    """``{"before": {...}, "after": {...}}`` of the fields that differ (all of
    them for a create or a delete), secrets stripped."""
    old = plain(before) if before is not None else {}
    new = plain(after) if after is not None else {}
    if not isinstance(old, dict) or not isinstance(new, dict):
        return {"before": old, "after": new}
    names = sorted(set(old) | set(new))
    changed = [n for n in names if old.get(n) != new.get(n)]
    if before is not None and after is not None:
        changed = [n for n in changed if n != "updated_at"]
    return {
        "before": {n: old[n] for n in changed if n in old},
        "after": {n: new[n] for n in changed if n in new},
    }


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    """An entry as exported and served: the canonical fields plus ``hash``."""
    body = json.loads(canonical(entry.record, entry.seq, entry.prev_hash))
    body["hash"] = entry.hash
    return dict(body)


def report_json(report: AuditReport) -> dict[str, Any]:
    return {
        "workspace_id": report.workspace_id,
        "ok": report.ok,
        "entries": report.entries,
        "head_seq": report.head_seq,
        "checkpoints": report.checkpoints,
        "breaks": [{"kind": b.kind, "seq": b.seq, "detail": b.detail} for b in report.breaks],
    }


def verify_chain(
    workspace_id: str,
    entries: Sequence[AuditEntry],
    *,
    head: tuple[int, str] | None = None,
    checkpoints: Sequence[tuple[Checkpoint, bool]] = (),
) -> AuditReport:
    """Check ``entries`` (in stored order, by seq) against their hashes, links,
    the stored head and the signed checkpoints (each given with whether its
    signature verified). Every break names the seq it was found at."""
    ordered = sorted(entries, key=lambda e: e.seq)
    by_hash = {e.hash: e for e in ordered}
    breaks: list[AuditBreak] = []
    seen: set[int] = set()
    prev: AuditEntry | None = None
    prev_broken = False
    for index, entry in enumerate(ordered):
        if entry.seq in seen:
            breaks.append(AuditBreak("inserted", entry.seq, "a second entry with this seq"))
            continue
        seen.add(entry.seq)
        expected = 1 if prev is None else prev.seq + 1
        gap = entry.seq > expected
        if gap:
            missing = f"{expected}" if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
            breaks.append(AuditBreak("deleted", expected, f"entries {missing} are missing"))
        nxt = ordered[index + 1] if index + 1 < len(ordered) else None
        found = _check_entry(entry, prev, nxt, by_hash, gap or prev_broken)
        if found is not None:
            breaks.append(found)
        prev, prev_broken = entry, found is not None
    last = ordered[-1] if ordered else None
    breaks.extend(_check_head(ordered, last, head))
    by_seq = {e.seq: e for e in ordered}
    for checkpoint, signature_ok in checkpoints:
        if not signature_ok:
            breaks.append(
                AuditBreak("checkpoint_invalid", checkpoint.seq, "the signature does not verify")
            )
            continue
        at_seq = by_seq.get(checkpoint.seq)
        if at_seq is None or at_seq.hash != checkpoint.hash:
            what = "is missing" if at_seq is None else "has a different hash"
            breaks.append(AuditBreak("truncated", checkpoint.seq, f"the checkpointed entry {what}"))
    return AuditReport(
        workspace_id=workspace_id,
        entries=len(ordered),
        head_seq=0 if last is None else last.seq,
        checkpoints=len(checkpoints),
        breaks=tuple(sorted(breaks, key=lambda b: b.seq)),
    )


def _home(entry: AuditEntry, by_hash: Mapping[str, AuditEntry]) -> int | None:
    """The seq an intact entry was chained at, when it now sits elsewhere."""
    linked = by_hash.get(entry.prev_hash)
    candidates = [1] if entry.prev_hash == GENESIS else []
    if linked is not None:
        candidates.append(linked.seq + 1)
    candidates.extend(s for s in range(entry.seq - _REORDER_WINDOW, entry.seq + _REORDER_WINDOW))
    for seq in candidates:
        if seq > 0 and seq != entry.seq:
            if entry_hash(entry.record, seq, entry.prev_hash) == entry.hash:
                return seq
    return None


def _check_entry(
    entry: AuditEntry,
    prev: AuditEntry | None,
    nxt: AuditEntry | None,
    by_hash: Mapping[str, AuditEntry],
    skip_link: bool,
) -> AuditBreak | None:
    if entry_hash(entry.record, entry.seq, entry.prev_hash) != entry.hash:
        home = _home(entry, by_hash)
        if home is not None:
            return AuditBreak("reordered", entry.seq, f"this entry belongs at seq {home}")
        return AuditBreak("modified", entry.seq, "the entry does not match its hash")
    expected_prev = GENESIS if prev is None else prev.hash
    if skip_link or entry.prev_hash == expected_prev:
        return None
    if prev is not None and nxt is not None and nxt.prev_hash == prev.hash:
        return AuditBreak("inserted", entry.seq, "the chain skips this entry")
    if entry.prev_hash in by_hash:
        return AuditBreak("reordered", entry.seq, "the entry links to another position")
    return AuditBreak("inserted", entry.seq, "the entry does not link to the one before it")


def _check_head(
    ordered: Sequence[AuditEntry], last: AuditEntry | None, head: tuple[int, str] | None
) -> list[AuditBreak]:
    if head is None:
        return [] if last is None else [AuditBreak("inserted", last.seq, "no head was recorded")]
    head_seq, head_hash = head
    found: list[AuditBreak] = []
    last_seq = 0 if last is None else last.seq
    if head_seq > last_seq:
        found.append(AuditBreak("truncated", last_seq + 1, f"the head is at seq {head_seq}"))
    else:
        at_head = next((e for e in ordered if e.seq == head_seq), None)
        if at_head is not None and at_head.hash != head_hash:
            found.append(AuditBreak("truncated", head_seq, "the head names a different hash"))
        for extra in (e for e in ordered if e.seq > head_seq):
            found.append(AuditBreak("inserted", extra.seq, "appended outside the head"))
    return found


__all__ = [
    "GENESIS",
    "AuditBreak",
    "AuditEntry",
    "AuditRecord",
    "AuditReport",
    "BreakKind",
    "Checkpoint",
    "canonical",
    "canonical_json",
    "chain",
    "diff",
    "entry_hash",
    "entry_json",
    "is_secret_field",
    "plain",
    "report_json",
    "stamp",
    "verify_chain",
]
