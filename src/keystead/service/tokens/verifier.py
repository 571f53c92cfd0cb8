"""The in-process verifier of access tokens: no I/O on the hot path.

Public keys (by kid) and each API's revocation state live in memory. ``prepare``
loads an API's keys and denials; ``verify`` is synchronous and decides from
memory alone; ``verify_async`` prepares when the token names a kid this process
does not hold (at most one reload per API per ``RELOAD_INTERVAL_S``) and then
runs ``verify``.
"""

from __future__ import annotations

from collections.abc import Collection

from keystead.service.tokens._types import VerifiedToken

RELOAD_INTERVAL_S = 1.0
"""At most one reload of an API's keys per this many seconds on an unknown kid."""
CACHE_SIZE = 100_000
"""Verified tokens kept (by token text, until they expire)."""


class InProcessTokenVerifier:
    def verify(self, token: str, *, audience: str | Collection[str] | None = None) -> VerifiedToken:
        """The token's checked claims, or ``TokenRefused`` (never I/O)."""
        raise NotImplementedError

    async def verify_async(
        self, token: str, audience: str | Collection[str] | None = None
    ) -> VerifiedToken:
        """``verify``, after loading the token's API when this process lacks its key."""
        raise NotImplementedError

    async def prepare(self, api_id: str) -> None:
        """Load (or reload) the API's signing keys and its denials."""
        raise NotImplementedError


__all__ = ["CACHE_SIZE", "RELOAD_INTERVAL_S", "InProcessTokenVerifier"]
