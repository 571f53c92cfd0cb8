"""Versions of the server secret that keys are hashed under: which one new keys
use, which older ones a lookup still tries. Pure: the time is passed in.

Version 1 is the secret of ``KEYSTEAD_SECRET`` or the secret file; ``keystead
secret rotate`` adds version n+1, which becomes the newest at its
``activates_at``, once every node has had the time to learn it (docs/operations.md,
"Rotating the server secret"). A retired version is never tried again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BASE_VERSION = 1
"""The version of the secret in ``KEYSTEAD_SECRET`` or the secret file."""


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """One version as the store records it (never its material)."""

    version: int
    created_at: float
    activates_at: float
    """From this time on (epoch seconds) it is the newest, unless a later one is."""
    retired_at: float | None = None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


BASE = SecretVersion(BASE_VERSION, 0.0, 0.0)
"""Version 1 as it stands in a store that never rotated nor retired it."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """What a node does with the versions it knows, at one moment."""

    newest: int | None
    """New keys are hashed under it; None when every version is retired."""
    older: tuple[int, ...]
    """Tried after the newest on a lookup that missed, newest first."""
    next_change_at: float | None
    """When a pending version becomes the newest (then look again)."""


def with_base(versions: Iterable[SecretVersion]) -> list[SecretVersion]:
    """The recorded versions, version 1 included when the store has no row for it."""
    found = {v.version: v for v in versions}
    found.setdefault(BASE_VERSION, BASE)
    return [found[n] for n in sorted(found)]


def schedule(versions: Iterable[SecretVersion], now: float, tried: int) -> Schedule:
    """The newest version at ``now`` and at most ``tried`` older ones still in use
    (pending versions included: another node may already hash under them)."""
    live = [v for v in with_base(versions) if not v.retired]
    active = [v for v in live if v.activates_at <= now]
    newest = active[-1].version if active else None
    pending = [v.activates_at for v in live if v.activates_at > now]
    older = [v.version for v in reversed(live) if v.version != newest][:tried]
    return Schedule(newest, tuple(older), min(pending) if pending else None)


__all__ = ["BASE", "BASE_VERSION", "Schedule", "SecretVersion", "schedule", "with_base"]
