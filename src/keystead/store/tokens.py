"""The store interface of access tokens: signing keys and denials.

Signing keys hold their private material sealed (``core.at_rest.seal_item``):
sealing and opening happen in the service. Denials are the revocations offline
verifiers apply; ``seq`` orders them per store (the revocation document's
sequence). A denial that must commit with another change (a key revoked,
disabled, rotated or deleted) is *pended* right before the store call making the
change: the store writes it inside that same transaction and tells
``on_token_denials`` once committed (``pend_denial``, as audit records are).

``TokenStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(slots=True, frozen=True)
class SigningKeyRecord:
    id: str
    """The kid (``tsk_...``)."""
    workspace_id: str
    api_id: str
    algorithm: str
    public_jwk: dict[str, Any] | None
    """None for HS256 (a shared secret is never published)."""
    sealed: bytes = field(repr=False)
    key_version: int
    created_at: datetime
    retired_at: datetime | None = None
    """None while the key signs."""
    publish_until: datetime | None = None
    """A retired key stays in the JWKS (and verifies) until then."""


@dataclass(slots=True, frozen=True)
class DenialRecord:
    """One denial as stored: ``seq`` is 0 until the store assigns it."""

    workspace_id: str
    api_id: str
    kind: str
    """``key`` (subject = key id; tokens with iat < not_before refused) or ``jti``."""
    subject: str
    not_before: float
    expires_at: float
    aud: str | None = None
    seq: int = 0


class TokenStore(Protocol):
    on_token_denials: Callable[[Sequence[DenialRecord]], None] | None
    """Called with the denials of each committed transaction (with their seq)."""

    async def add_signing_key(self, key: SigningKeyRecord, *, expected: str | None) -> bool:
        """Store ``key`` as its API's signing key, retiring the one that signed
        (``key.created_at`` as its retired_at, ``publish_until`` as given in
        ``key.publish_until``), in one transaction; only if ``expected`` (a kid,
        or None for no key) is the key that signs now: False, nothing written,
        otherwise (another node rotated first; an audit entry pended for the
        change is dropped with it)."""
        ...

    async def list_signing_keys(self, api_id: str | None) -> list[SigningKeyRecord]:
        """The API's signing keys (every API's with None): the signing ones first,
        then newest first."""
        ...

    async def signing_keys_in_use(self) -> list[tuple[SigningKeyRecord, dict[str, Any] | None]]:
        """Each API's signing key with that API's token policy (scheduled rotation)."""
        ...

    async def drop_signing_keys(self, until: datetime) -> list[SigningKeyRecord]:
        """Delete retired keys whose ``publish_until`` is before ``until``."""
        ...

    async def put_denials(self, denials: Sequence[DenialRecord]) -> list[DenialRecord]:
        """Store denials (a second one of the same API, kind and subject replaces
        the first with a new seq, its times moved forward); returns them stored."""
        ...

    async def list_denials(self, api_id: str, *, after: int = 0) -> list[DenialRecord]:
        """The API's denials with seq > ``after``, by seq."""
        ...

    async def prune_denials(self, now: float) -> int:
        """Delete denials that expired before ``now``, except each API's latest (its
        seq stays the revocation document's sequence); how many went."""
        ...


_pending: ContextVar[tuple[object, list[DenialRecord]] | None] = ContextVar(
    "keystead_token_denials", default=None
)


def _owner() -> object:
    try:
        return asyncio.current_task() or 0
    except RuntimeError:
        return 0


def pend_denial(denial: DenialRecord) -> None:
    """Queue ``denial`` for this task's next transaction."""
    owner, slot = _owner(), _pending.get()
    if slot is None or slot[0] is not owner:
        slot = (owner, [])
        _pending.set(slot)
    slot[1].append(denial)


def take_denials() -> list[DenialRecord]:
    """The denials pending for this task; clears them."""
    slot = _pending.get()
    if slot is None or slot[0] is not _owner() or not slot[1]:
        return []
    taken = list(slot[1])
    slot[1].clear()
    return taken


__all__ = [
    "DenialRecord",
    "SigningKeyRecord",
    "TokenStore",
    "pend_denial",
    "take_denials",
]
