"""The store interface of usage records and their rollups.

``UsageStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from keystead.core.usage import Rollup, RollupKey, Tile, UsageRecord


class UsageStore(Protocol):
    async def write_usage(
        self, records: Sequence[UsageRecord], rollups: Mapping[RollupKey, Rollup]
    ) -> None:
        """Insert raw records and merge rollup deltas, in one transaction."""
        ...

    async def list_usage(
        self, workspace_id: str, *, key_id: str | None = None, limit: int = 100
    ) -> list[UsageRecord]:
        """The newest raw records of a workspace (or of one key), newest first."""
        ...

    async def get_rollups(
        self,
        workspace_id: str,
        scope: str,
        scope_id: str,
        granularity: str,
        *,
        since: int | None = None,
        until: int | None = None,
        sketches: bool = True,
    ) -> list[tuple[RollupKey, Rollup]]:
        """Rollups of one scope, oldest bucket first, buckets starting in
        [since, until) (epoch seconds; either bound may be left open). With
        ``sketches=False`` the sketches are not read (left empty): the stored
        distinct counts are set instead, where the row has them."""
        ...

    async def rollups_in(
        self, workspace_id: str, scope: str, scope_id: str, tiles: Sequence[Tile]
    ) -> list[Rollup]:
        """One scope's rollups (sketches included) in ``tiles``, in no order."""
        ...

    async def purge_usage(self, raw_before: datetime, rollups_before: int) -> tuple[int, int]:
        """Delete raw records older than ``raw_before`` and rollups whose bucket
        starts before ``rollups_before``; return how many of each."""
        ...


__all__ = ["UsageStore"]
