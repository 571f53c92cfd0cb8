"""The limiter's share of a key change: all or nothing with the store's.

A key update that sets credits or resets the quota changes two systems: the store
(the key row, its credits mirror, the audit entry, the outbox event) and the
limiter (the live balance, the quota count). The store transaction writes its rows,
then ``apply`` changes the limiter, then the transaction commits:

- the limiter fails: ``apply`` raises, the transaction rolls back, nothing changed;
- the commit fails after the limiter took the change: the caller calls ``undo``,
  which puts back what ``apply`` read before each write (a credit balance, a quota
  count).

A write that failed is undone too: a timed-out command may still have run. What
cannot be undone (the limiter is gone as well) is logged with the counter's name.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from keystead.core.models import Key
from keystead.errors import KeysteadError
from keystead.limits import Check, Limiter, Quota

log = logging.getLogger("keystead.limits")

Undo = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class CounterChange:
    """``credits``: set ``credits_counter`` to this balance; ``reset_quota``: clear
    ``quota_counter``, whose spec is ``quota`` (None: the key had no quota)."""

    limiter: Limiter
    now: float
    credits_counter: str
    credits: int | None = None
    quota_counter: str | None = None
    quota: Quota | None = None
    _undo: list[tuple[str, Undo]] = field(default_factory=list, init=False, repr=False)

    def __bool__(self) -> bool:
        return self.credits is not None or self.quota_counter is not None

    async def apply(self, _key: Key) -> None:
        """Change the limiter, remembering first how to put each counter back."""
        limiter, now = self.limiter, self.now
        if self.credits is not None:
            counter = self.credits_counter
            before = await limiter.get_credits(counter)
            self._undo.append((counter, _restore_credits(limiter, counter, before, now)))
            await limiter.set_credits(counter, self.credits, now)
        if self.quota_counter is not None:
            counter = self.quota_counter
            used = 0
            if self.quota is not None:
                used = (await limiter.quota_usage(counter, self.quota, now)).used
            self._undo.append((counter, _restore_quota(limiter, counter, self.quota, used, now)))
            await limiter.clear([counter])

    async def undo(self) -> None:
        """Put back every counter ``apply`` changed (or may have), latest first."""
        while self._undo:
            counter, restore = self._undo.pop()
            try:
                await restore()
            except KeysteadError as exc:
                log.error(
                    "a failed key change could not be undone in the limiter; counter %s "
                    "keeps the change: %s",
                    counter,
                    exc.detail,
                )


def _restore_credits(limiter: Limiter, counter: str, before: int | None, now: float) -> Undo:
    async def restore() -> None:
        if before is None:
            await limiter.clear([counter])  # seeded again from the store's mirror
        else:
            await limiter.set_credits(counter, before, now)

    return restore


def _restore_quota(
    limiter: Limiter, counter: str, quota: Quota | None, used: int, now: float
) -> Undo:
    async def restore() -> None:
        if quota is not None and used > 0:
            await limiter.clear([counter])
            counted = await limiter.decide([Check(counter, quota, used)], now)
            if not counted.allowed:
                log.error("quota counter %s could not count its %d units again", counter, used)

    return restore
