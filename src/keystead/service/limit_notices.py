"""``ratelimit.exceeded`` and ``quota.exceeded`` events: past a threshold, never
per request. A key's first refusal sends one event; more refusals within the
cooldown are only counted, and the next event reports how many there were.

Each node decides on its own, so with N nodes a key sends at most N events per
cooldown. Events reach the outbox with the verifier's periodic flush, off the
hot path.
"""

from __future__ import annotations

from datetime import UTC, datetime

from keystead.core import events
from keystead.core.models import Code
from keystead.core.verify import Verdict

_MAX_TRACKED = 50_000


class LimitNotices:
    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self._sent_at: dict[tuple[str, str], float] = {}
        self._refused: dict[tuple[str, str], int] = {}
        self._pending: list[events.Event] = []

    def observe(self, verdict: Verdict, now: float) -> None:
        """Note one refused verification (RATE_LIMITED or USAGE_EXCEEDED)."""
        key = verdict.key
        if key is None or verdict.shed:
            return
        kind = (
            events.QUOTA_EXCEEDED
            if verdict.code is Code.USAGE_EXCEEDED
            else events.RATELIMIT_EXCEEDED
        )
        ident = (key.counter_id, kind)
        refused = self._refused.get(ident, 0) + 1
        sent_at = self._sent_at.get(ident)
        if sent_at is not None and now - sent_at < self.cooldown_s:
            self._refused[ident] = refused
            return
        if len(self._sent_at) >= _MAX_TRACKED:
            self._forget_before(now - self.cooldown_s)
        self._sent_at[ident] = now
        self._refused[ident] = 0
        failed = next((s for s in verdict.limits if not s.allowed), None)
        self._pending.append(
            events.key_event(
                kind,
                key,
                datetime.fromtimestamp(now, UTC),
                limit=verdict.reason,
                limit_kind=None if failed is None else failed.kind,
                limit_value=None if failed is None else failed.limit,
                refused=refused,
                retry_after=verdict.retry_after,
                cooldown_s=self.cooldown_s,
            )
        )

    def drain(self) -> list[events.Event]:
        pending, self._pending = self._pending, []
        return pending

    def _forget_before(self, cutoff: float) -> None:
        stale = [ident for ident, at in self._sent_at.items() if at < cutoff]
        for ident in stale:
            del self._sent_at[ident]
            self._refused.pop(ident, None)
        if len(self._sent_at) >= _MAX_TRACKED:  # all recent: drop the oldest half
            for ident in sorted(self._sent_at, key=self._sent_at.__getitem__)[: _MAX_TRACKED // 2]:
                del self._sent_at[ident]
                self._refused.pop(ident, None)


__all__ = ["LimitNotices"]
