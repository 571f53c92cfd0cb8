"""An API's token policy: whether tokens are issued, how, and for how long.

Stored as JSON on the API (``apis.token_policy``); absent fields take their
defaults. Every instance is valid: the constructor checks each field and raises
``ValidationError`` naming it, so ``from_dict`` of a stored or requested policy
and a direct construction obey the same bounds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from keystead.core.tokens.claims import REGISTERED_CLAIMS
from keystead.core.tokens.keys import ALGORITHMS
from keystead.errors import ValidationError

TTL_CEILING_S = 86_400
"""No policy issues tokens for more than a day: they are short-lived."""
ROTATE_FLOOR_S = 3_600
ROTATE_CEILING_S = 366 * 86_400
MAX_LIST_ITEMS = 32
MAX_AUDIENCE_CHARS = 256
_CLAIM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}").fullmatch


class InvalidTokenRequest(ValidationError):
    """A token request the policy does not allow (a TTL out of bounds, an
    audience or a claim not allowed): 400, OAuth's ``invalid_request``."""

    status = 400


def _int(value: object, field: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValidationError(f"{field} is a whole number from {low} to {high}", field=field)
    return value


def _strings(value: object, field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError(f"{field} is a list of strings", field=field)
    if len(value) > MAX_LIST_ITEMS:
        raise ValidationError(f"{field} has at most {MAX_LIST_ITEMS} entries", field=field)
    for item in value:
        if type(item) is not str or not item or len(item) > MAX_AUDIENCE_CHARS:
            raise ValidationError(
                f"{field} holds non-empty strings of {MAX_AUDIENCE_CHARS} characters at most",
                field=field,
            )
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class TokenPolicy:
    enabled: bool = True
    algorithm: str = "EdDSA"
    default_ttl_s: int = 300
    min_ttl_s: int = 10
    max_ttl_s: int = 3600
    audiences: tuple[str, ...] = ()
    """Audiences allowed besides the API id."""
    include_meta: bool = False
    allowed_claims: tuple[str, ...] = ()
    """Extra claim names a token request may set (never a registered one)."""
    rotate_every_s: int | None = None
    """Scheduled signing-key rotation; None rotates only on request."""

    def __post_init__(self) -> None:
        for name in ("enabled", "include_meta"):
            if type(getattr(self, name)) is not bool:
                raise ValidationError(f"{name} is true or false", field=name)
        if self.algorithm not in ALGORITHMS:
            raise ValidationError(f"algorithm is one of {', '.join(ALGORITHMS)}", field="algorithm")
        _int(self.min_ttl_s, "min_ttl_s", 1, TTL_CEILING_S)
        _int(self.max_ttl_s, "max_ttl_s", self.min_ttl_s, TTL_CEILING_S)
        _int(self.default_ttl_s, "default_ttl_s", self.min_ttl_s, self.max_ttl_s)
        object.__setattr__(self, "audiences", _strings(self.audiences, "audiences"))
        claims = _strings(self.allowed_claims, "allowed_claims")
        for name in claims:
            if not _CLAIM_NAME(name) or name in REGISTERED_CLAIMS:
                raise ValidationError(
                    f"allowed_claims: {name!r} is not a claim name a request may set",
                    field="allowed_claims",
                )
        object.__setattr__(self, "allowed_claims", claims)
        if self.rotate_every_s is not None:
            _int(self.rotate_every_s, "rotate_every_s", ROTATE_FLOOR_S, ROTATE_CEILING_S)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TokenPolicy:
        """The policy of stored or requested JSON; None or ``{}`` is the default.
        Unknown fields are refused (``ValidationError`` naming the field)."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValidationError("the token policy is a JSON object", field="token_policy")
        known = {field.name for field in fields(cls)}
        for name in data:
            if name not in known:
                raise ValidationError(f"unknown token policy field {name!r}", field=str(name))
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, every field present."""
        return {
            "enabled": self.enabled,
            "algorithm": self.algorithm,
            "default_ttl_s": self.default_ttl_s,
            "min_ttl_s": self.min_ttl_s,
            "max_ttl_s": self.max_ttl_s,
            "audiences": list(self.audiences),
            "include_meta": self.include_meta,
            "allowed_claims": list(self.allowed_claims),
            "rotate_every_s": self.rotate_every_s,
        }

    def check_ttl(self, ttl_s: int | None) -> int:
        """The lifetime of a token asked for ``ttl_s`` (None: the default);
        ``InvalidTokenRequest`` on field "ttl_s" when out of bounds."""
        if ttl_s is None:
            return self.default_ttl_s
        if type(ttl_s) is not int or not self.min_ttl_s <= ttl_s <= self.max_ttl_s:
            raise InvalidTokenRequest(
                f"ttl_s is a whole number from {self.min_ttl_s} to {self.max_ttl_s}",
                field="ttl_s",
            )
        return ttl_s

    def allowed_audience(self, audience: str | None, api_id: str) -> bool:
        """Whether a token may be issued for ``audience`` (None: the API id)."""
        return audience is None or audience == api_id or audience in self.audiences

    def check_audience(self, audience: str | None, api_id: str) -> str:
        """The audience of a token asked for ``audience``; ``InvalidTokenRequest``
        on field "audience" when the policy does not allow it."""
        if not self.allowed_audience(audience, api_id):
            raise InvalidTokenRequest("this audience is not allowed", field="audience")
        return api_id if audience is None else audience

    def extra_claims(self, requested: Mapping[str, Any] | None) -> dict[str, Any]:
        """The requested extra claims, when each is in ``allowed_claims``;
        ``InvalidTokenRequest`` on field "claims" naming the first that is not."""
        if not requested:
            return {}
        for name in requested:
            if name not in self.allowed_claims:
                raise InvalidTokenRequest(f"claim {name!r} is not allowed", field="claims")
        return dict(requested)


__all__ = ["ROTATE_FLOOR_S", "TTL_CEILING_S", "InvalidTokenRequest", "TokenPolicy"]
