"""Limit sets: validation of the JSON users send, and merging plan and key.

A limit set is ``{"ratelimits": [...], "quota": {...}, "credits": {...},
"concurrency": {...}}``, every part optional; keys, plans and owners each hold
one. The spec types and their exact semantics live in ``keystead.limits``.

``keystead.http.limit_schemas`` takes its list bound and enums from here. The
checks are double: the library and the CLI call the service without pydantic,
and only this side checks ranges and names the refused field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import orjson

from keystead.errors import ValidationError
from keystead.limits import Concurrency, Credits, Quota, RateLimit

LIMIT_FIELDS = ("ratelimits", "quota", "credits", "concurrency")
MAX_RATELIMITS = 20
"""Rate limits in one list (a key's, a plan's, an owner's, an API's, or one verify)."""
FailurePolicy = Literal["open", "closed"]
FAILURE_POLICIES: tuple[FailurePolicy, ...] = get_args(FailurePolicy)
MAX_PRIORITY = 100
API_LIMIT_FIELDS = frozenset({"failure_policy", "ip_ratelimits"})
"""The fields of an API's ``limits``."""


@dataclass(slots=True, frozen=True)
class CompiledLimits:
    ratelimits: tuple[RateLimit, ...] = ()
    quota: Quota | None = None
    credits: Credits | None = None
    concurrency: Concurrency | None = None

    def __bool__(self) -> bool:
        return bool(self.ratelimits) or any(
            x is not None for x in (self.quota, self.credits, self.concurrency)
        )


def ratelimits(value: object, field: str = "ratelimits") -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError(f"{field} is a list of rate limits", field=field)
    if len(value) > MAX_RATELIMITS:
        raise ValidationError(f"{field} holds at most {MAX_RATELIMITS} limits", field=field)
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, item in enumerate(value):
        spec = RateLimit.from_dict(item, f"{field}[{index}]")
        if spec.name in names:
            raise ValidationError(
                f"two rate limits are named '{spec.name}'", field=f"{field}[{index}].name"
            )
        names.add(spec.name)
        out.append(spec.to_dict())
    return out


def _no_nul(out: dict[str, Any], field: str | None) -> dict[str, Any]:
    if b"\\u0000" in orjson.dumps(out):  # neither PostgreSQL text nor JSONB holds NUL
        raise ValidationError("limits must not contain NUL characters", field=field)
    return out


def limit_set(values: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical JSON of the limit fields present in ``values``; ``None``
    (or an empty list) for a field leaves it out."""
    return _no_nul(_limit_set(values), None)


def _limit_set(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if values.get("ratelimits"):
        out["ratelimits"] = ratelimits(values["ratelimits"])
    if values.get("quota") is not None:
        out["quota"] = Quota.from_dict(values["quota"], "quota").to_dict()
    if values.get("credits") is not None:
        out["credits"] = Credits.from_dict(values["credits"], "credits").to_dict()
    if values.get("concurrency") is not None:
        out["concurrency"] = Concurrency.from_dict(values["concurrency"], "concurrency").to_dict()
    return out


def from_arguments(
    ratelimits: Sequence[Mapping[str, Any]] | None,
    quota: Mapping[str, Any] | None,
    credits: Mapping[str, Any] | None,
    concurrency: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``limit_set`` of keyword arguments, as plans and owners take them."""
    return limit_set(
        {
            "ratelimits": list(ratelimits or ()),
            "quota": quota,
            "credits": credits,
            "concurrency": concurrency,
        }
    )


def updated_set(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with the limit fields named in ``changes`` replaced (None clears)."""
    merged = {k: v for k, v in current.items() if k not in changes}
    merged.update({k: v for k, v in changes.items() if k in LIMIT_FIELDS})
    return limit_set(merged)


def effective(plan: Mapping[str, Any] | None, own: Mapping[str, Any]) -> CompiledLimits:
    """A key's limits: its plan's, with the key's own entries replacing them
    (rate limits by name; quota, credits and concurrency whole)."""
    base = dict(plan or {})
    by_name = {r["name"]: r for r in base.get("ratelimits", [])}
    by_name.update({r["name"]: r for r in own.get("ratelimits", [])})
    pick = {f: own[f] if f in own else base.get(f) for f in ("quota", "credits", "concurrency")}
    return CompiledLimits(
        ratelimits=tuple(RateLimit.from_dict(r) for r in by_name.values()),
        quota=None if pick["quota"] is None else Quota.from_dict(pick["quota"]),
        credits=None if pick["credits"] is None else Credits.from_dict(pick["credits"]),
        concurrency=(
            None if pick["concurrency"] is None else Concurrency.from_dict(pick["concurrency"])
        ),
    )


def api_limits(value: object) -> dict[str, Any]:
    """An API's limit settings: ``failure_policy`` and per-client-IP ``ip_ratelimits``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("limits is a JSON object", field="limits")
    unknown = sorted(set(value) - API_LIMIT_FIELDS)
    if unknown:
        raise ValidationError(f"unknown limits field '{unknown[0]}'", field=f"limits.{unknown[0]}")
    out: dict[str, Any] = {}
    policy = value.get("failure_policy", "open")
    if policy not in FAILURE_POLICIES:
        raise ValidationError("failure_policy is 'open' or 'closed'", field="limits.failure_policy")
    out["failure_policy"] = policy
    if value.get("ip_ratelimits"):
        out["ip_ratelimits"] = ratelimits(value["ip_ratelimits"], "limits.ip_ratelimits")
    return _no_nul(out, "limits")


def priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PRIORITY:
        raise ValidationError(
            f"priority is a whole number from 0 to {MAX_PRIORITY}", field="priority"
        )
    return value
