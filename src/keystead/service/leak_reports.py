"""What a leak report is and what it answers: the values ``service.leaks`` takes
and gives, checked once here. A report holds the token in plaintext (hashed and
looked up, never stored, logged or returned); an answer names it by SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keystead.core.models import Key, RootKey
from keystead.errors import ValidationError
from keystead.service import fields
from keystead.store.leaks import LeakRecord

MAX_REPORTS = 1000
GITHUB_MAX_REPORTS = 10_000
"""GitHub sends as many matches as it found at once; its body limit bounds them too."""
MAX_URL = 2000
MAX_TYPE = 200
METRIC_SOURCES = frozenset({"github", "scanner", "api"})
_SOURCE_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


@dataclass(slots=True, frozen=True)
class LeakReport:
    """One token as reported. ``token`` is the plaintext: it is hashed and
    looked up, never stored, logged or returned."""

    token: str = field(repr=False)
    source: str = "api"
    url: str | None = None
    exposed_at: datetime | None = None
    token_type: str | None = None


@dataclass(slots=True, frozen=True)
class LeakAnswer:
    """What a report of one token found and did.

    ``status``: ``live`` (the key worked until now and was handled by its policy;
    a root key is revoked whatever the policy, and ``key_id`` is its ``rk_...``),
    ``already_revoked`` or ``unknown``. ``outcome``: revoked, rotated, notified,
    already_revoked or unknown. The same answer comes back for a repeated report.
    """

    token_hash: str
    token_type: str | None
    status: str
    outcome: str
    key_id: str | None = None
    start: str | None = None
    leak_id: str | None = None
    incident_id: str | None = None
    repeated: bool = False

    @property
    def true_positive(self) -> bool:
        return self.status != "unknown"


def token_hash(token: str) -> str:
    """SHA-256 hex of the token: GitHub's ``token_hash``."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_report(value: LeakReport) -> LeakReport:
    """Refuse what no row can hold; the token itself is checked by parsing it."""
    if not isinstance(value.token, str) or not value.token:
        raise ValidationError("token is a non-empty string", field="token")
    if not isinstance(value.source, str) or _SOURCE_RE.fullmatch(value.source) is None:
        raise ValidationError("source is 1 to 64 of A-Z a-z 0-9 _ . : -", field="source")
    for name, text, limit in (("url", value.url, MAX_URL), ("type", value.token_type, MAX_TYPE)):
        if text is not None and (
            not isinstance(text, str) or not 1 <= len(text) <= limit or "\x00" in text
        ):
            raise ValidationError(f"{name} is text of 1 to {limit} characters", field=name)
    fields.timestamp(value.exposed_at, "exposed_at")
    return value


def describe(leak: LeakRecord) -> dict[str, Any]:
    """The leak as the incident's cause and evidence hold it (no token)."""
    return {
        "leak_id": leak.id,
        "source": leak.source,
        "url": leak.url,
        "type": leak.token_type,
        "token_hash": leak.token_hash,
        "exposed_at": None if leak.exposed_at is None else leak.exposed_at.isoformat(),
        "reported_at": leak.reported_at.isoformat(),
        "reported_by": leak.reported_by,
    }


def provisional(report: LeakReport, key: Key | RootKey | None) -> LeakAnswer:
    """The answer of a token whose response is still running."""
    digest = token_hash(report.token)
    if key is None:
        return LeakAnswer(digest, report.token_type, "unknown", "unknown")
    status = "already_revoked" if key.revoked_at is not None else "live"
    return LeakAnswer(digest, report.token_type, status, "pending", key.id, key.start)


def metric_source(source: str) -> str:
    """Sources as /metrics labels them: a reporter names its own, so only the
    known ones keep their name (the label set stays small)."""
    return source if source in METRIC_SOURCES else "other"


def checked_batch(reports: Sequence[LeakReport], limit: int) -> list[LeakReport]:
    if not isinstance(reports, Sequence) or not 1 <= len(reports) <= limit:
        raise ValidationError(f"send 1 to {limit} reports", field="reports")
    return [check_report(r) for r in reports]


def answer_of(
    leak: LeakRecord, key: Key | RootKey, report: LeakReport, *, repeated: bool = False
) -> LeakAnswer:
    revoked = leak.outcome == "already_revoked"
    return LeakAnswer(
        token_hash=leak.token_hash,
        token_type=report.token_type,
        status="already_revoked" if revoked else "live",
        outcome=leak.outcome,
        key_id=key.id,
        start=key.start,
        leak_id=leak.id,
        incident_id=leak.incident_id,
        repeated=repeated,
    )


__all__ = [
    "GITHUB_MAX_REPORTS",
    "MAX_REPORTS",
    "MAX_TYPE",
    "MAX_URL",
    "LeakAnswer",
    "LeakReport",
    "answer_of",
    "check_report",
    "checked_batch",
    "describe",
    "metric_source",
    "provisional",
    "token_hash",
]
