"""The answers a protected app gives in Keystead's name: a refusal (status,
headers, ``application/problem+json`` body) and the rate-limit headers of a
served request. Built on ``keystead.core.answers``, so the middleware, the
gateway and the HTTP API answer alike.

Every unusable key (unknown, revoked, expired, malformed ...) gets the same 401,
byte for byte, so a refusal never tells whether a key exists.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import NamedTuple

import orjson

from keystead.core.answers import (
    LimitLike,
    Outcome,
    problem_for,
    ratelimit_headers,
    served_limit_headers,
    status_phrase,
)
from keystead.core.models import Code
from keystead.core.verify import Verdict

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]

_REALM = b'Bearer realm="keystead"'
_CHALLENGES = {
    401: _REALM + b', error="invalid_token"',
    403: _REALM + b', error="insufficient_scope"',
}
_PROBLEM = (b"content-type", b"application/problem+json")
_NO_STORE = (b"cache-control", b"no-store")


def refusal(verdict: Outcome, now: float, *, windows: Mapping[str, int] | None = None) -> Answer:
    """The 401/403/429/503 answer for a refused verification (``Verdict`` or
    ``VerifyResult``); ``now`` is the clock the verdict was decided on.
    Raises ``ValueError`` for a valid one."""
    status, extra = ratelimit_headers(verdict, now=now, windows=windows)
    if status is None:
        raise ValueError("a valid verdict is not refused")
    body = orjson.dumps(problem_for(verdict))
    headers = _problem_headers(_CHALLENGES.get(status, _REALM), body)
    headers.extend(_encoded(extra))
    return status, headers, body


def missing_key() -> Answer:
    """The 401 for a request that carried no key: the body of any unusable key
    (RFC 6750: no ``error`` in the challenge when no credential was sent)."""
    return 401, _problem_headers(_REALM, _UNAUTHORIZED_BODY), _UNAUTHORIZED_BODY


def unavailable(detail: str = "API keys cannot be checked right now; retry later") -> Answer:
    """The 503 when verification itself failed (store or Keystead server down)."""
    body = orjson.dumps(
        {"type": "about:blank", "title": status_phrase(503), "status": 503, "detail": detail}
    )
    return 503, _problem_headers(_REALM, body), body


class KeyRefused(Exception):
    """Raised by ``require_key`` helpers: the adapter answers with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"API key refused ({answer[0]})")
        self.answer = answer


class _Decided(NamedTuple):
    """An outcome decided by an adapter rather than by a verification."""

    code: str
    reason: str | None = None
    limits: tuple[LimitLike, ...] = ()
    retry_after: float | None = None
    shed: bool = False


def insufficient_permissions(query: str) -> Answer:
    """The 403 for a verified key whose permissions do not satisfy ``query``
    (a route asking more than the check its middleware already made)."""
    return refusal(_Decided(Code.INSUFFICIENT_PERMISSIONS, query), time.time())


def limit_headers(
    verdict: Outcome, now: float, *, windows: Mapping[str, int] | None = None
) -> Headers:
    """The ``RateLimit-Policy`` and ``RateLimit`` headers of a served request
    (empty when the key has no limits)."""
    if not verdict.limits:
        return []
    if windows is None and isinstance(verdict, Verdict):
        served = served_limit_headers(verdict, now)
        if served is not None:
            return [(b"ratelimit-policy", served[0]), (b"ratelimit", served[1])]
    return _encoded(ratelimit_headers(verdict, now=now, windows=windows)[1])


def _problem_headers(challenge: bytes, body: bytes) -> Headers:
    return [
        _PROBLEM,
        (b"content-length", str(len(body)).encode("ascii")),
        (b"www-authenticate", challenge),
        _NO_STORE,
    ]


_NAMES = {
    name: name.lower().encode("ascii") for name in ("RateLimit-Policy", "RateLimit", "Retry-After")
}


def _encoded(headers: list[tuple[str, str]]) -> Headers:
    names = _NAMES
    return [(names[name], value.encode("ascii")) for name, value in headers]


_UNAUTHORIZED_BODY = orjson.dumps(
    {
        "type": "about:blank",
        "title": status_phrase(401),
        "status": 401,
        "detail": "a valid API key is required",
    }
)

__all__ = [
    "Answer",
    "Headers",
    "KeyRefused",
    "insufficient_permissions",
    "limit_headers",
    "missing_key",
    "refusal",
    "unavailable",
]
