"""Rotation policies: when a key is due for rotation, and when to warn.

A policy is ``{"max_age_s": int | None, "grace_period_s": int, "warn_before_s":
int | None}``, set on an API (for all its keys) or on one key (overrides the
API's). Pure functions of the key, the policy and the time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from keystead.core.models import Key
from keystead.errors import ValidationError

DEFAULT_GRACE_S = 86_400
"""Overlap of a rotation that names none and has no policy: one day."""
MAX_SPAN_S = 10 * 366 * 86_400
_FIELDS = frozenset({"max_age_s", "grace_period_s", "warn_before_s"})


@dataclass(slots=True, frozen=True)
class RotationPolicy:
    max_age_s: int | None = None
    grace_period_s: int = DEFAULT_GRACE_S
    warn_before_s: int | None = None

    @classmethod
    def parse(cls, value: Any, field: str = "rotation_policy") -> RotationPolicy:
        if not isinstance(value, Mapping):
            raise ValidationError("a rotation policy is a JSON object", field=field)
        unknown = sorted(set(value) - _FIELDS)
        if unknown:
            raise ValidationError(
                f"unknown rotation policy field '{unknown[0]}'", field=f"{field}.{unknown[0]}"
            )
        max_age = _seconds(value.get("max_age_s"), f"{field}.max_age_s", minimum=60)
        grace = _seconds(value.get("grace_period_s"), f"{field}.grace_period_s", minimum=0)
        warn = _seconds(value.get("warn_before_s"), f"{field}.warn_before_s", minimum=1)
        if max_age is None and warn is None:
            raise ValidationError(
                "a rotation policy sets max_age_s, warn_before_s or both", field=field
            )
        return cls(max_age, DEFAULT_GRACE_S if grace is None else grace, warn)

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_age_s": self.max_age_s,
            "grace_period_s": self.grace_period_s,
            "warn_before_s": self.warn_before_s,
        }


def effective(key: Key, api_policy: Mapping[str, Any] | None) -> RotationPolicy | None:
    """The key's own policy, else its API's, else none."""
    chosen = key.rotation_policy if key.rotation_policy is not None else api_policy
    return None if chosen is None else RotationPolicy.parse(chosen)


def due_at(key: Key, policy: RotationPolicy) -> datetime | None:
    """When the key must be rotated (its age reaches ``max_age_s``)."""
    if policy.max_age_s is None or key.rotated_to is not None or key.revoked_at is not None:
        return None
    return key.created_at + timedelta(seconds=policy.max_age_s)


def ends_at(key: Key, policy: RotationPolicy | None) -> datetime | None:
    """The earlier of the key's expiry and its rotation due time."""
    times = [t for t in (key.expires_at, None if policy is None else due_at(key, policy)) if t]
    return min(times) if times else None


def warn_at(key: Key, policy: RotationPolicy | None) -> datetime | None:
    """When the ``key.expiring`` warning is due, if the policy asks for one."""
    if policy is None or policy.warn_before_s is None:
        return None
    end = ends_at(key, policy)
    return None if end is None else end - timedelta(seconds=policy.warn_before_s)


def _seconds(value: Any, field: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_SPAN_S:
        raise ValidationError(
            f"{field} is a whole number of seconds, {minimum} or more", field=field
        )
    return value


__all__ = ["DEFAULT_GRACE_S", "RotationPolicy", "due_at", "effective", "ends_at", "warn_at"]
