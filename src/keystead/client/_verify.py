"""What ``verify`` sends and answers: ``VerifyRequest`` and ``VerifyResult``,
read strictly (a malformed answer is an ``ApiError``, never a ``KeyError``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

import httpx

from keystead.client._call import compact, read_object
from keystead.client._errors import invalid_answer
from keystead.core.text import problem_of

_LIMIT_CODES = frozenset({"RATE_LIMITED", "USAGE_EXCEEDED"})
_CONTEXT = ("ip", "referrer", "user_agent", "method", "path", "permissions")


def sendable(request: object, names: Sequence[str]) -> None:
    """Refuse, before anything is sent, text the server refuses for good (a NUL
    character) or that cannot even be encoded (a lone surrogate): ValueError
    naming the field, never its value."""
    for name in names:
        value = getattr(request, name)
        problem = problem_of(value) if isinstance(value, str) else None
        if problem is not None:
            raise ValueError(f"{name} cannot be sent: it holds {problem}")


@dataclass(frozen=True, slots=True)
class LimitInfo:
    """One limit of a verification (``keystead.core.answers.LimitLike``):
    ``reset`` is an epoch second, ``retry_after`` seconds (set on a limit
    that refused)."""

    name: str
    kind: str
    limit: int
    remaining: int
    reset: float | None
    retry_after: float | None
    refused: bool = False
    """This limit refused the request (the answer's ``reason`` names it)."""
    window: int | None = None
    """The limit's window in seconds, when the server knows it (the key's own
    rate limits, a day or week quota, a credits refill interval)."""

    @property
    def allowed(self) -> bool:
        return not self.refused and self.retry_after is None and self.remaining >= 0


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """A verification's answer. ``valid`` and ``code`` always; the key's fields
    when the key was found; ``limits``, ``retry_after`` and ``leases`` when it
    has limits. ``cached``: answered from this client's verify cache."""

    valid: bool
    code: str
    key_id: str | None = None
    api_id: str | None = None
    owner_id: str | None = None
    name: str | None = None
    permissions: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    reason: str | None = None
    limits: tuple[LimitInfo, ...] = ()
    retry_after: float | None = None
    leases: tuple[str, ...] = ()
    shed: bool = False
    rotated_to: str | None = None
    plan_id: str | None = None
    """The key's own plan, when it has one."""
    cached: bool = False


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """One ``verify`` call's arguments (the key stays in memory only here)."""

    key: str = field(repr=False)
    ip: str | None = None
    referrer: str | None = None
    user_agent: str | None = None
    method: str | None = None
    path: str | None = None
    permissions: str | None = None
    ratelimits: Sequence[Mapping[str, Any]] | None = None
    cost: int | None = None
    record: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.key, str):
            raise TypeError("the key to verify is a str")
        sendable(self, _CONTEXT)

    def body(self, *, with_record: bool = True) -> dict[str, Any]:
        """The JSON body of ``POST /v1/keys/verify``."""
        body = compact(
            key=self.key,
            permissions=self.permissions,
            ip=self.ip,
            referrer=self.referrer,
            user_agent=self.user_agent,
            method=self.method,
            path=self.path,
            cost=self.cost,
            ratelimits=None if self.ratelimits is None else [dict(r) for r in self.ratelimits],
        )
        if not self.record and with_record:
            body["record"] = False
        return body

    @property
    def fingerprint_fields(self) -> tuple[str | int | None, ...]:
        """Everything the answer may depend on (per-call rate limits aside:
        a call with them is never answered from a cache)."""
        return (
            self.key,
            self.ip,
            self.referrer,
            self.user_agent,
            self.method,
            self.path,
            self.permissions,
            self.cost,
        )


def read_verify(response: httpx.Response) -> VerifyResult:
    return parse_verify(read_object(response))


def parse_verify(answer: Mapping[str, Any]) -> VerifyResult:
    """A ``VerifyResult`` from the JSON answer; ``ApiError`` when it is malformed.
    Members this client does not know are ignored (newer servers may add some)."""
    valid, code = answer.get("valid"), answer.get("code")
    if not isinstance(valid, bool) or not isinstance(code, str) or not code:
        raise invalid_answer("a verify answer needs 'valid' (true/false) and 'code' (text)")
    reason = _text(answer, "reason")
    refusing = reason if code in _LIMIT_CODES else None
    meta = answer.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise invalid_answer("the verify answer's 'meta' is not an object")
    return VerifyResult(
        valid=valid,
        code=code,
        key_id=_text(answer, "key_id"),
        api_id=_text(answer, "api_id"),
        owner_id=_text(answer, "owner_id"),
        name=_text(answer, "name"),
        permissions=_texts(answer, "permissions"),
        meta=meta,
        expires_at=_stamp(answer, "expires_at"),
        reason=reason,
        limits=tuple(_limit(item, refusing) for item in _list(answer, "limits")),
        retry_after=_number(answer, "retry_after"),
        leases=_texts(answer, "leases"),
        shed=_flag(answer, "shed"),
        rotated_to=_text(answer, "rotated_to"),
        plan_id=_text(answer, "plan_id"),
    )


def _limit(item: Any, refusing: str | None) -> LimitInfo:
    if not isinstance(item, dict):
        raise invalid_answer("a verify answer's 'limits' holds objects")
    name, kind = item.get("name"), item.get("kind")
    limit, remaining = item.get("limit"), item.get("remaining")
    if not isinstance(name, str) or not isinstance(kind, str):
        raise invalid_answer("a limit needs 'name' and 'kind' (text)")
    if not _is_int(limit) or not _is_int(remaining):
        raise invalid_answer("a limit needs 'limit' and 'remaining' (whole numbers)")
    return LimitInfo(
        name=name,
        kind=kind,
        limit=limit,
        remaining=remaining,
        reset=_number(item, "reset"),
        retry_after=_number(item, "retry_after"),
        refused=name == refusing,
        window=_window(item.get("window")),
    )


def _window(value: Any) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value < 1:
        raise invalid_answer("a limit's 'window' is a whole number of seconds")
    return value


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(answer: Mapping[str, Any], name: str) -> str | None:
    value = answer.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_answer(f"the verify answer's '{name}' is not text")
    return value


def _number(answer: Mapping[str, Any], name: str) -> float | None:
    value = answer.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise invalid_answer(f"the verify answer's '{name}' is not a number")
    return float(value)


def _flag(answer: Mapping[str, Any], name: str) -> bool:
    value = answer.get(name, False)
    if not isinstance(value, bool):
        raise invalid_answer(f"the verify answer's '{name}' is not true or false")
    return value


def _list(answer: Mapping[str, Any], name: str) -> list[Any]:
    value = answer.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_answer(f"the verify answer's '{name}' is not a list")
    return value


def _texts(answer: Mapping[str, Any], name: str) -> tuple[str, ...]:
    values = _list(answer, name)
    if not all(isinstance(v, str) for v in values):
        raise invalid_answer(f"the verify answer's '{name}' is not a list of texts")
    return tuple(values)


def _stamp(answer: Mapping[str, Any], name: str) -> datetime | None:
    text = _text(answer, name)
    if text is None:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise invalid_answer(f"the verify answer's '{name}' is not a date-time") from None
    if stamp.tzinfo is None:
        raise invalid_answer(f"the verify answer's '{name}' has no time zone")
    return stamp


__all__ = ["LimitInfo", "VerifyRequest", "VerifyResult", "parse_verify", "read_verify"]
