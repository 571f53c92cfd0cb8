"""The audit log's pure core: records, their canonical form and hash, the
changed-fields diff (secrets stripped), and the verification report
(``audit_verify`` checks a stored chain).

An entry's hash is SHA-256 over its canonical JSON (sorted keys, no whitespace,
UTF-8), which includes ``prev_hash``: the hash of the entry before it in the same
workspace (``GENESIS`` for seq 1). docs/audit.md gives the exact form.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

GENESIS = "0" * 64
FORMAT_VERSION = 1

BreakKind = Literal[
    "modified", "deleted", "inserted", "reordered", "truncated", "checkpoint_invalid"
]

_SECRET_PARTS = ("secret", "hash", "cipher", "plaintext", "sealed", "jwe", "private", "token")
_SECRET_NAMES = frozenset({"key", "password"})


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
    breaks_omitted: int = 0
    """Breaks found past the ones listed (a report lists a bounded number)."""

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.breaks_omitted


def stamp(at: datetime) -> str:
    """The canonical time: UTC, microseconds, ``Z``."""
    utc = at.astimezone(UTC)
    if utc.year >= _ISO_YEARS_FROM:  # isoformat, far cheaper, writes the same characters
        return utc.isoformat(timespec="microseconds")[: -len("+00:00")] + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_ISO_YEARS_FROM = 1000
"""Below it ``strftime("%Y")`` does not pad the year to four digits; isoformat does."""


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""What ``json.dumps(value, sort_keys=True, ...)`` builds on every call, built once."""


def canonical_json(value: Any) -> bytes:
    """The documented form: ``json.dumps`` with the options above, in UTF-8. orjson
    writes the very same bytes (its escapes, key order and integers are those of
    ``json``) for values of plain JSON types, so those go through it; a float (its
    digits differ, and orjson writes NaN as null), another type, a key that is not a
    string or an integer past 64 bits goes through ``json``, as documented."""
    if _plain_json(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
    return _CANONICAL.encode(value).encode("utf-8")


_JSON_LEAVES = frozenset({str, int, bool, type(None)})
"""Exactly these types: a subclass (an enum, ...) may be written differently."""


def _plain_json(value: Any) -> bool:
    """Made of dicts with string keys, lists, strings, integers, booleans and None."""
    kind = type(value)
    if kind in _JSON_LEAVES:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _JSON_LEAVES and not _plain_json(item)):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) in _JSON_LEAVES or _plain_json(item) for item in value)
    return False


def canonical(record: AuditRecord, seq: int, prev_hash: str) -> bytes:
    """The bytes an entry's hash covers."""
    return canonical_json(_canonical_fields(record, seq, prev_hash))


def _canonical_fields(record: AuditRecord, seq: int, prev_hash: str) -> dict[str, Any]:
    return {
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


def entry_hash(record: AuditRecord, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(record, seq, prev_hash)).hexdigest()


def chain(record: AuditRecord, seq: int, prev_hash: str) -> AuditEntry:
    return AuditEntry(record, seq, prev_hash, entry_hash(record, seq, prev_hash))


@functools.lru_cache(maxsize=1024)
def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(part in lowered for part in _SECRET_PARTS)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with secret-named fields and bytes dropped."""
    if type(value) in _SCALARS:  # the common cases first: every audited read passes here
        return value
    if type(value) is not dict and dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if type(value) is dict or isinstance(value, Mapping):  # ABCs' isinstance is slow
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
    new = plain(after) if after is not None else {}
    if before is None and isinstance(new, dict):  # a create, or a read's details
        return {"before": {}, "after": {n: new[n] for n in sorted(new) if new[n] is not None}}
    old = plain(before) if before is not None else {}
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
        "breaks_omitted": report.breaks_omitted,
    }


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
]
