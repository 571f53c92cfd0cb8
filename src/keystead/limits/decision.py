"""The values a decision takes and gives: plain named tuples, cheap to build.

A :class:`Check` names one counter, its spec and the units to spend; a
:class:`Decision` answers a whole sequence of checks at once, all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

from keystead.core.models import LimitState
from keystead.errors import ValidationError
from keystead.limits.specs import Spec

Code = Literal["RATE_LIMITED", "USAGE_EXCEEDED"]
FailurePolicy = Literal["open", "closed"]
"""What the caller does on :class:`~keystead.errors.LimiterUnavailable`:
"open" lets the request through unlimited, "closed" refuses it."""

USAGE_KINDS = frozenset({"quota", "credits"})


class Check(NamedTuple):
    """Spend ``cost`` units of ``spec`` on the counter called ``key``.

    Keys are the caller's (``k:<key_id>:rl:<name>``, ``o:<owner>:q``...); on
    Redis Cluster every key of one decision must carry the same hash tag.
    """

    key: str
    spec: Spec
    cost: int = 1


LimitResult = LimitState
"""The state of one counter after a decision (``keystead.core.models.LimitState``,
so a service verdict carries it as is): ``remaining`` counts units left now
(after spending, when the decision was allowed); ``reset`` is the epoch second
when the counter is whole again (``None``: credits that never refill);
``retry_after`` is set only on a check that failed: seconds until it would
pass, or ``None`` when waiting cannot help."""


class Lease(NamedTuple):
    """One held concurrency slot: the counter key and the lease id."""

    key: str
    id: str


class Decision(NamedTuple):
    """The answer for a whole verification.

    ``code`` is None when allowed, "USAGE_EXCEEDED" when a quota or credits
    check failed (even if a rate limit failed too), else "RATE_LIMITED".
    ``retry_after`` is the longest wait among failed checks (None if allowed
    or if some failed check can never pass). ``lease_ids`` lists the
    concurrency slots taken; give them back with ``release``.
    """

    allowed: bool
    code: Code | None
    results: tuple[LimitResult, ...]
    lease_ids: tuple[Lease, ...] = ()
    retry_after: float | None = None


class QuotaUsage(NamedTuple):
    """Units used in the current period ``[period_start, reset)``."""

    used: int
    limit: int
    period_start: float
    reset: float


ALLOWED_EMPTY = Decision(True, None, ())


def refused(results: tuple[LimitResult, ...]) -> Decision:
    """The Decision for results of which at least one failed."""
    code: Code = "RATE_LIMITED"
    wait: float | None = 0.0
    for result in results:
        if not result.allowed:
            if result.kind in USAGE_KINDS:
                code = "USAGE_EXCEEDED"
            if wait is not None:
                wait = None if result.retry_after is None else max(wait, result.retry_after)
    return Decision(False, code, results, (), wait)


def check_keys(checks: Sequence[Check]) -> None:
    """Reject what no backend can decide: negative or non-integer costs,
    and the same counter twice in one decision."""
    keys = set()
    for check in checks:
        if type(check.cost) is not int or check.cost < 0:
            raise ValidationError("cost must be an integer >= 0", field="cost")
        keys.add(check.key)
    if len(keys) != len(checks):
        raise ValidationError("a decision may name each counter key once", field="key")
