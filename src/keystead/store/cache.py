"""A bounded LRU cache with per-entry TTL, for key records on the verify path.

The TTL is the safety net behind explicit invalidation: a node that changes a
key evicts it at once; other nodes (through a later invalidation channel) or a
lost message are covered by the TTL. A negative entry (``None``) remembers a
hash that is not in the store, for a shorter time, so a flood of well-formed
but unknown keys does not become a flood of queries.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

MISS: object = object()


class TtlLruCache(Generic[V]):
    __slots__ = ("_data", "_ids", "_monotonic", "maxsize", "negative_ttl", "ttl")

    def __init__(
        self,
        maxsize: int,
        ttl: float,
        negative_ttl: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self._monotonic = monotonic
        self._data: OrderedDict[bytes, tuple[V | None, float, str | None]] = OrderedDict()
        self._ids: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: bytes) -> V | object | None:
        """The cached value (``None`` for a known miss), or ``MISS``."""
        entry = self._data.get(key)
        if entry is None:
            return MISS
        if entry[1] <= self._monotonic():
            self._drop(key)
            return MISS
        self._data.move_to_end(key)
        return entry[0]

    def peek(self, key: bytes) -> V | object | None:
        """``get`` without touching the cache: no recency update, no eviction
        of an expired entry (``MISS`` for it). Safe from another thread while
        the owning event loop changes the cache: one dict read."""
        entry = self._data.get(key)
        if entry is None or entry[1] <= self._monotonic():
            return MISS
        return entry[0]

    def put(self, key: bytes, value: V | None, ident: str | None = None) -> None:
        if self.maxsize <= 0:
            return
        ttl = self.ttl if value is not None else self.negative_ttl
        if ttl <= 0:
            return
        if key in self._data:
            self._drop(key)
        while len(self._data) >= self.maxsize:
            oldest = next(iter(self._data))
            self._drop(oldest)
        self._data[key] = (value, self._monotonic() + ttl, ident)
        if ident is not None:
            self._ids[ident] = key

    def invalidate_id(self, ident: str) -> None:
        key = self._ids.get(ident)
        if key is not None:
            self._drop(key)

    def invalidate(self, key: bytes) -> None:
        self._drop(key)

    def invalidate_where(self, predicate: Callable[[V], bool]) -> int:
        doomed = [k for k, (v, _, _) in self._data.items() if v is not None and predicate(v)]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def clear(self) -> None:
        self._data.clear()
        self._ids.clear()

    def _drop(self, key: bytes) -> None:
        entry = self._data.pop(key, None)
        if entry is not None and entry[2] is not None:
            self._ids.pop(entry[2], None)


__all__ = ["MISS", "TtlLruCache"]
