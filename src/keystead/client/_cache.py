"""The verify cache: VALID answers kept for a few seconds, so a busy service
asks the server once per key and context per TTL instead of on every request.

Entries are found by an HMAC-SHA256 of the key and the request context under
a secret drawn at random for each cache: the plaintext key is never kept, and
the fingerprints mean nothing outside this process.

Only answers that bypass nothing are kept: VALID, without ``limits`` (no rate
limit, quota, credits or concurrency counted them), without ``leases``, not
shed. An entry lives ``ttl_s`` seconds, never past the key's ``expires_at``.
An eviction (invalidation) bumps ``generation``: an answer that was on its way
while a change was announced is not stored, as it may predate the change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from keystead.client._verify import VerifyRequest, VerifyResult

MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    result: VerifyResult
    expires: float
    """On the monotonic clock."""


class VerifyCache:
    """A bounded LRU of verify answers with a TTL; safe to share between threads."""

    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not ttl_s > 0 or max_entries < 1:
            raise ValueError("a verify cache needs a positive TTL and size")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._secret = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._by_key: dict[str, set[bytes]] = {}
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._wall = wall

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"VerifyCache(ttl_s={self.ttl_s}, entries={len(self._entries)})"

    def fingerprint(self, request: VerifyRequest) -> bytes:
        text = json.dumps(request.fingerprint_fields, separators=(",", ":"))
        return hmac.digest(self._secret, text.encode(), hashlib.sha256)

    def get(self, fingerprint: bytes) -> VerifyResult | None:
        with self._lock:
            entry = self._entries.get(fingerprint)
            if entry is not None and entry.expires > self._monotonic():
                self._entries.move_to_end(fingerprint)
                self.hits += 1
                return entry.result
            if entry is not None:
                self._drop(fingerprint, entry)
            self.misses += 1
            return None

    def put(self, fingerprint: bytes, result: VerifyResult, generation: int) -> None:
        """Keep ``result`` if it may be kept and nothing was evicted since
        ``generation`` was read (before the request went out)."""
        if not cacheable(result) or result.key_id is None:
            return
        lifetime = self.ttl_s
        if result.expires_at is not None:
            lifetime = min(lifetime, result.expires_at.timestamp() - self._wall())
        if lifetime <= 0:
            return
        kept = dataclasses.replace(result, cached=True)
        with self._lock:
            if generation != self.generation:
                return
            old = self._entries.pop(fingerprint, None)
            if old is not None:
                self._unindex(fingerprint, old)
            self._entries[fingerprint] = _Entry(kept, self._monotonic() + lifetime)
            self._by_key.setdefault(result.key_id, set()).add(fingerprint)
            while len(self._entries) > self.max_entries:
                self._drop(*self._entries.popitem(last=False), popped=True)

    def evict_key(self, key_id: str) -> None:
        """Forget every answer about one key."""
        with self._lock:
            self.generation += 1
            for fingerprint in self._by_key.pop(key_id, ()):
                self._entries.pop(fingerprint, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._by_key.clear()

    def _drop(self, fingerprint: bytes, entry: _Entry, *, popped: bool = False) -> None:
        if not popped:
            self._entries.pop(fingerprint, None)
        self._unindex(fingerprint, entry)

    def _unindex(self, fingerprint: bytes, entry: _Entry) -> None:
        key_id = entry.result.key_id
        if key_id is None:
            return
        fingerprints = self._by_key.get(key_id)
        if fingerprints is not None:
            fingerprints.discard(fingerprint)
            if not fingerprints:
                del self._by_key[key_id]


def cacheable(result: VerifyResult) -> bool:
    """VALID, and nothing counted or held for it: no limits, no leases, not shed."""
    return result.valid and not result.limits and not result.leases and not result.shed


__all__ = ["MAX_ENTRIES", "VerifyCache", "cacheable"]
