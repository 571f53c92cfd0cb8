"""What a protected app learns about the caller: ``Identity``, the verified key.

Never the key itself: its id, owner, API, name, permissions, meta and plan.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from keystead.core.permissions import GrantSet, parse_query_cached
from keystead.core.verify import Verdict, VerifiableKey


@dataclass(frozen=True, slots=True)
class Identity:
    """The verified key of the current request."""

    key_id: str
    owner_id: str | None
    api_id: str
    name: str | None
    permissions: tuple[str, ...]
    """Effective permissions: the key's own grants plus those of its roles."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    plan: str | None = None
    """The id of the key's plan, when it has one."""

    def allows(self, query: str) -> bool:
        """Whether these permissions satisfy a permission query
        (``"documents.read AND NOT billing.write"``, docs/api.md)."""
        return _allows(self.permissions, query)


@functools.lru_cache(maxsize=4096)
def _allows(permissions: tuple[str, ...], query: str) -> bool:
    """Memoised: a route asks the same query of the same grants on every request."""
    return parse_query_cached(query).evaluate(GrantSet(permissions))


class ResultLike(Protocol):
    """The key fields of a remote verify answer (``keystead.client.VerifyResult``)."""

    @property
    def key_id(self) -> str | None: ...
    @property
    def api_id(self) -> str | None: ...
    @property
    def owner_id(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def permissions(self) -> tuple[str, ...]: ...
    @property
    def meta(self) -> Mapping[str, Any]: ...


_KNOWN: dict[VerifiableKey, Identity] = {}
_KNOWN_KEPT = 4096


def identity_of(verdict: Verdict) -> Identity | None:
    """The identity of a valid verdict (None for any other); one per cached key
    record (a changed key is a new record)."""
    record = verdict.record
    if record is None or not verdict.valid:
        return None
    identity = _KNOWN.get(record)
    if identity is None:
        if len(_KNOWN) >= _KNOWN_KEPT:
            _KNOWN.clear()
        key = record.key
        identity = _KNOWN[record] = Identity(
            key.id, key.owner_id, key.api_id, key.name, verdict.permissions, key.meta, key.plan_id
        )
    return identity


def identity_of_result(result: ResultLike) -> Identity | None:
    """The identity of a valid remote answer (None when it names no key)."""
    if result.key_id is None or result.api_id is None:
        return None
    plan = getattr(result, "plan_id", None)
    return Identity(
        result.key_id,
        result.owner_id,
        result.api_id,
        result.name,
        tuple(result.permissions),
        result.meta,
        plan if isinstance(plan, str) else None,
    )


__all__ = ["Identity", "ResultLike", "identity_of", "identity_of_result"]
