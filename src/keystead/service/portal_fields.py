"""Validation of portal branding and of portal link arguments.

Every error names its field (``logo_url``, ``key_defaults.expires_in_s``,
``permissions[1]``) so forms can show the message beside the input."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from keystead.core.authz import Principal
from keystead.core.permissions import validate_permission
from keystead.errors import Forbidden, ValidationError
from keystead.service import fields, limit_fields

PORTAL_PERMISSIONS: tuple[str, ...] = (
    "keys.read",
    "keys.create",
    "keys.update",
    "keys.rotate",
    "keys.revoke",
    "usage.read",
)
"""What a portal link grants by default (usage charts need ``usage.read``)."""
PORTAL_ALLOWED = frozenset({*PORTAL_PERMISSIONS, "keys.verify", "limits.read"})
"""What a portal link may grant at all: an owner's own keys and figures, never
root keys, secrets or workspace settings."""

BRANDING_FIELDS = frozenset({"name", "logo_url", "accent", "max_keys_per_owner", "key_defaults"})
_ACCENT = re.compile(r"#[0-9a-fA-F]{6}")
_CONTROL = re.compile(r"[\x00-\x20\x7f\"'<>\\`]")
_MAX_URL = 2048
_MAX_NAME = 80
_MAX_KEYS = 1_000_000


@dataclass(frozen=True, slots=True)
class Branding:
    """A workspace's portal look and the limits of what its customers may do."""

    name: str = "Keystead"
    logo_url: str | None = None
    accent: str = "#2457c5"
    max_keys_per_owner: int | None = None
    """How many keys (not revoked) one owner may hold through the portal; None: no bound."""
    key_defaults: Mapping[str, Any] = field(default_factory=dict)
    """Applied to keys created in the portal (``expires_in_s``, ``ratelimits``, ...)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "logo_url": self.logo_url,
            "accent": self.accent,
            "max_keys_per_owner": self.max_keys_per_owner,
            "key_defaults": dict(self.key_defaults),
        }


_DEFAULT = Branding()


def branding_from(stored: Mapping[str, Any] | None) -> Branding:
    if not stored:
        return Branding()
    return Branding(
        name=stored.get("name") or _DEFAULT.name,
        logo_url=stored.get("logo_url"),
        accent=stored.get("accent") or _DEFAULT.accent,
        max_keys_per_owner=stored.get("max_keys_per_owner"),
        key_defaults=dict(stored.get("key_defaults") or {}),
    )


def updated_branding(current: Branding, changes: Mapping[str, Any]) -> Branding:
    """``current`` with ``changes`` applied (a None value restores the default)."""
    if not isinstance(changes, Mapping):
        raise ValidationError("branding is a JSON object", field="branding")
    fields.unknown(changes, BRANDING_FIELDS, "branding")
    out = current.as_dict()
    default = _DEFAULT.as_dict()
    for name, value in changes.items():
        out[name] = default[name] if value is None else _VALIDATORS[name](value)
    return branding_from(out)


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("name is a non-empty string", field="name")
    value = value.strip()
    if len(value) > _MAX_NAME or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError(f"name is at most {_MAX_NAME} printable characters", field="name")
    return value


def https_url(value: object, name: str, *, allow_http: bool = False) -> str:
    """An absolute https URL (http too with ``allow_http``) with a host, no
    credentials and no characters that would need quoting."""
    schemes = ("https", "http") if allow_http else ("https",)
    what = "an https or http URL" if allow_http else "an https URL"
    if not isinstance(value, str) or not value or len(value) > _MAX_URL:
        raise ValidationError(f"{name} is {what} of at most {_MAX_URL} characters", field=name)
    if _CONTROL.search(value):
        raise ValidationError(f"{name} holds a character a URL may not", field=name)
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise ValidationError(f"{name} is not a valid URL", field=name) from None
    if parts.scheme.lower() not in schemes or not parts.hostname or not port_ok:
        raise ValidationError(f"{name} is {what}", field=name)
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"{name} may not carry credentials", field=name)
    return value


def _logo_url(value: object) -> str:
    return https_url(value, "logo_url")


def _accent(value: object) -> str:
    if not isinstance(value, str) or not _ACCENT.fullmatch(value):
        raise ValidationError("accent is a colour written #rrggbb", field="accent")
    return value.lower()


def _max_keys(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_KEYS:
        raise ValidationError(
            f"max_keys_per_owner is a whole number from 1 to {_MAX_KEYS}",
            field="max_keys_per_owner",
        )
    return value


def _key_defaults(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError("key_defaults is a JSON object", field="key_defaults")
    given = dict(value)
    limits = given.pop("ratelimits", None)
    try:
        out = fields.key_defaults(given)
    except ValidationError as exc:
        where = exc.field or ""
        if not where.startswith("key_defaults"):
            where = f"key_defaults.{where}" if where else "key_defaults"
        raise ValidationError(exc.detail, field=where) from None
    if limits is not None:
        out["ratelimits"] = limit_fields.ratelimits(limits, "key_defaults.ratelimits")
    return out


_VALIDATORS = {
    "name": _name,
    "logo_url": _logo_url,
    "accent": _accent,
    "max_keys_per_owner": _max_keys,
    "key_defaults": _key_defaults,
}


def link_permissions(principal: Principal, given: Sequence[str] | None) -> tuple[str, ...]:
    """The permissions of a portal link: the portal's default set (what of it the
    caller holds), or ``given``, each of which the caller must hold itself."""
    if given is None:
        held = tuple(p for p in PORTAL_PERMISSIONS if principal.grants.covers(p))
        if not held:
            raise Forbidden("this root key holds none of the portal's permissions")
        return held
    if isinstance(given, str | bytes) or not isinstance(given, Sequence) or not given:
        raise ValidationError("permissions is a non-empty list", field="permissions")
    out: list[str] = []
    for index, value in enumerate(given):
        where = f"permissions[{index}]"
        validate_permission(value, where)
        if value not in PORTAL_ALLOWED:
            raise ValidationError(
                f"a portal link grants only {', '.join(sorted(PORTAL_ALLOWED))}", field=where
            )
        if not principal.grants.covers(value):
            raise Forbidden(f"cannot grant '{value}': this root key lacks it")
        if value not in out:
            out.append(value)
    return tuple(out)


def link_api_ids(principal: Principal, given: Sequence[str] | None) -> tuple[str, ...] | None:
    """The APIs a portal link sees: the caller's when not given, else a subset of them."""
    if given is None:
        return None if principal.api_ids is None else tuple(sorted(principal.api_ids))
    if isinstance(given, str | bytes) or not isinstance(given, Sequence) or not given:
        raise ValidationError("api_ids is a non-empty list of API ids", field="api_ids")
    for index, value in enumerate(given):
        if not isinstance(value, str) or not value or len(value) > 40:
            raise ValidationError("api_ids is a list of API ids", field=f"api_ids[{index}]")
        if not principal.sees_api(value):
            raise Forbidden(f"cannot grant API '{value}': this root key is not scoped to it")
    return tuple(dict.fromkeys(given))


__all__ = [
    "PORTAL_PERMISSIONS",
    "Branding",
    "branding_from",
    "https_url",
    "link_api_ids",
    "link_permissions",
    "updated_branding",
]
