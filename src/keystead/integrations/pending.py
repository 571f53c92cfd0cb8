"""A request's credential as the middleware holds it for the route.

On a protected route it holds the check the middleware made; on a public route
it holds the key (never shown to the app) until a ``require_key`` verifies it.
The identity is written to ``slot[name]`` (``scope["state"]["keystead"]`` for
ASGI, ``environ["keystead.identity"]`` for WSGI) once verified.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import replace
from typing import Any, Generic, TypeVar

from keystead.core.models import VerifyContext
from keystead.integrations.guard import Check, Guard, SyncGuard
from keystead.integrations.identity import Identity
from keystead.integrations.refusal import KeyRefused, insufficient_permissions, missing_key

G = TypeVar("G", Guard, SyncGuard)


class _Held(Generic[G]):
    __slots__ = ("_context", "_guard", "_key", "_name", "_slot", "check")

    def __init__(
        self,
        guard: G,
        key: str | None,
        context: VerifyContext | None,
        slot: MutableMapping[str, Any],
        name: str,
        check: Check | None = None,
    ) -> None:
        self._guard: G = guard
        self._key = key
        self._context = context
        self._slot = slot
        self._name = name
        self.check = check
        slot[name] = None if check is None else check.identity

    @property
    def holds_key(self) -> bool:
        """A key waits to be verified."""
        return self._key is not None

    def _take(self, permissions: str | None) -> tuple[str, VerifyContext]:
        """The key and context to verify now; the key is given up."""
        key, context = self._key, self._context
        if key is None or context is None:
            raise KeyRefused(missing_key())
        self._key = None
        return key, replace(context, permissions=permissions)

    def _settle(self, check: Check, permissions: str | None) -> Identity:
        """The identity, or ``KeyRefused``; a key verified for other permissions
        is checked against ``permissions`` here."""
        if self.check is not check:
            self.check = check
            self._slot[self._name] = check.identity
        identity = check.identity
        if identity is None:
            raise KeyRefused(check.answer or missing_key())
        if permissions is not None and check.context.permissions != permissions:
            if not identity.allows(permissions):
                raise KeyRefused(insufficient_permissions(permissions))
        return identity


class Pending(_Held[Guard]):
    """For asyncio apps."""

    __slots__ = ()

    async def identity(self, permissions: str | None = None, cost: int | None = None) -> Identity:
        """The caller's identity, verifying the key now if nothing did yet;
        raises ``KeyRefused`` with the answer to give otherwise."""
        check = self.check
        if check is None:
            check = await self._guard.check(*self._take(permissions), cost)
        return self._settle(check, permissions)


class SyncPending(_Held[SyncGuard]):
    """For threaded apps."""

    __slots__ = ()

    def identity(self, permissions: str | None = None, cost: int | None = None) -> Identity:
        """The blocking twin of ``Pending.identity``."""
        check = self.check
        if check is None:
            check = self._guard.check(*self._take(permissions), cost)
        return self._settle(check, permissions)


__all__ = ["Pending", "SyncPending"]
