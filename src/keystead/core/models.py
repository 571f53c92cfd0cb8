"""Domain records shared by every layer. Plain frozen dataclasses: no I/O.

None of these ever holds a plaintext key: a key is shown once, by the value
returned from creation, and otherwise known by its id and ``start``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple

KeyState = Literal["active", "disabled", "revoked", "expired", "pending"]


class Code(StrEnum):
    """The one outcome of a verification. Order of checks: docs/security.md."""

    VALID = "VALID"
    MALFORMED = "MALFORMED"
    NOT_FOUND = "NOT_FOUND"
    REVOKED = "REVOKED"
    DISABLED = "DISABLED"
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    FORBIDDEN = "FORBIDDEN"
    INSUFFICIENT_PERMISSIONS = "INSUFFICIENT_PERMISSIONS"
    RATE_LIMITED = "RATE_LIMITED"
    USAGE_EXCEEDED = "USAGE_EXCEEDED"


@dataclass(slots=True, frozen=True)
class VerifyContext:
    """What the protected request looked like, and the permission query to check."""

    ip: str | None = None
    referrer: str | None = None
    user_agent: str | None = None
    method: str | None = None
    path: str | None = None
    permissions: str | None = None


_new = object.__new__
_SET_CONTEXT = tuple(getattr(VerifyContext, f.name).__set__ for f in fields(VerifyContext))


def verify_context(
    ip: str | None,
    referrer: str | None,
    user_agent: str | None,
    method: str | None,
    path: str | None,
    permissions: str | None,
) -> VerifyContext:
    """``VerifyContext(...)`` from its fields in order, at under half the cost
    (a middleware builds one per request): the slots are set directly instead
    of through the frozen dataclass's ``object.__setattr__`` per field."""
    context = _new(VerifyContext)
    set_ip, set_referrer, set_user_agent, set_method, set_path, set_permissions = _SET_CONTEXT
    set_ip(context, ip)
    set_referrer(context, referrer)
    set_user_agent(context, user_agent)
    set_method(context, method)
    set_path(context, path)
    set_permissions(context, permissions)
    return context


@dataclass(slots=True, frozen=True)
class Workspace:
    id: str
    name: str
    created_at: datetime


@dataclass(slots=True, frozen=True)
class Api:
    id: str
    workspace_id: str
    name: str
    prefix: str
    key_defaults: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    limits: dict[str, Any] = field(default_factory=dict)
    """``failure_policy`` ("open"/"closed") and ``ip_ratelimits`` for this API."""
    rotation_policy: dict[str, Any] | None = None
    """Default rotation policy of this API's keys (docs/lifecycle.md)."""
    token_policy: dict[str, Any] | None = None
    """How this API's keys are exchanged for access tokens (docs/tokens.md); None =
    the defaults."""


@dataclass(slots=True, frozen=True)
class Role:
    """A named set of permissions within one API; keys reference roles by name."""

    api_id: str
    name: str
    permissions: tuple[str, ...]
    description: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, frozen=True)
class Key:
    id: str
    workspace_id: str
    api_id: str
    prefix: str
    start: str
    name: str | None
    owner_id: str | None
    meta: dict[str, Any]
    permissions: tuple[str, ...]
    roles: tuple[str, ...]
    enabled: bool
    environment: str | None
    not_before: datetime | None
    expires_at: datetime | None
    restrictions: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by: str | None
    limits: dict[str, Any] = field(default_factory=dict)
    """The key's own limit set (docs/limits.md); the plan's fills what it omits."""
    plan_id: str | None = None
    rotated_from: str | None = None
    """The key this one replaced by rotation."""
    rotated_to: str | None = None
    """The key that replaced this one; set once, so a key is rotated at most once."""
    lineage_id: str | None = None
    """The first key of a rotation chain: every key of the chain shares its
    limit counters, so rotating never resets a rate limit, quota or balance."""
    rotation_policy: dict[str, Any] | None = None
    """This key's own rotation policy; the API's applies where it is None."""

    @property
    def counter_id(self) -> str:
        """The id limit counters are kept under (shared across rotations)."""
        return self.lineage_id or self.id

    def state_at(self, now: float) -> KeyState:
        if self.revoked_at is not None:
            return "revoked"
        if not self.enabled:
            return "disabled"
        if self.expires_at is not None and self.expires_at.timestamp() <= now:
            return "expired"
        if self.not_before is not None and self.not_before.timestamp() > now:
            return "pending"
        return "active"


@dataclass(slots=True, frozen=True)
class Plan:
    """A named bundle of limits that keys reference; higher priority is shed last."""

    id: str
    workspace_id: str
    name: str
    limits: dict[str, Any]
    priority: int
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, frozen=True)
class Owner:
    """Limits shared by every key with this ``owner_id`` in the workspace, and
    the public key new keys are encrypted to when no person fetched them."""

    workspace_id: str
    owner_id: str
    limits: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    public_jwk: dict[str, Any] | None = None


class LimitState(NamedTuple):
    """One limit after a decision: what verify reports and headers are built from.

    ``remaining`` counts units left (after spending when allowed); ``reset`` is
    the epoch second the counter is whole again (None: never refills);
    ``retry_after`` is set on a failed limit: seconds until it would pass, or
    None when waiting cannot help.
    """

    name: str
    kind: str
    limit: int
    remaining: int
    reset: float | None
    retry_after: float | None
    allowed: bool


@dataclass(slots=True, frozen=True)
class RootKey:
    """A management credential of one workspace, optionally narrowed to some
    APIs and to the keys of one owner."""

    id: str
    workspace_id: str
    name: str | None
    start: str
    permissions: tuple[str, ...]
    api_ids: tuple[str, ...] | None
    created_at: datetime
    revoked_at: datetime | None
    created_by: str | None
    owner_id: str | None = None


@dataclass(slots=True, frozen=True)
class CreatedKey:
    """The one value that carries a plaintext key: returned once, at creation."""

    key: Key
    plaintext: str = field(repr=False)


@dataclass(slots=True, frozen=True)
class Pickup:
    """A rotated key held for its owner until fetched once, then erased.

    ``format`` is ``sealed`` (under the master key, ``keystead.core.at_rest``)
    or ``jwe`` (encrypted to the owner's public JWK: the server cannot read it).
    ``ciphertext`` is None once claimed or expired."""

    id: str
    workspace_id: str
    key_id: str
    owner_id: str | None
    format: str
    ciphertext: bytes | None = field(repr=False)
    created_at: datetime
    expires_at: datetime
    claimed_at: datetime | None = None
    claimed_by: str | None = None


@dataclass(slots=True, frozen=True)
class CreatedRootKey:
    root_key: RootKey
    plaintext: str = field(repr=False)


@dataclass(slots=True, frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


__all__ = [
    "Api",
    "Code",
    "CreatedKey",
    "CreatedRootKey",
    "Key",
    "KeyState",
    "LimitState",
    "Owner",
    "Page",
    "Pickup",
    "Plan",
    "Role",
    "RootKey",
    "VerifyContext",
    "Workspace",
    "verify_context",
]
