"""What to answer an HTTP client for a verdict: status, rate-limit headers, problem body.

Pure (no I/O): the HTTP API, the middleware and the gateway all answer with it.

Every function takes an ``Outcome``: a core ``Verdict``, or a verify answer read
back by the SDK (``keystead.client.VerifyResult``), so embedded and remote
checks answer the same way.

For middleware and gateways that verify the API key of every request::

    verdict = await ks.verify(key, context)
    status, headers = ratelimit_headers(verdict, now=ks.clock.now())
    if status is not None:  # refuse: 401, 403, 429 or 503
        return JSONResponse(problem_for(verdict), status, headers,
                            media_type="application/problem+json")
    ...  # serve, adding ``headers`` to the response

Statuses: None when the verdict is valid; 429 for RATE_LIMITED and
USAGE_EXCEEDED; 503 when ``verdict.shed`` (load shedding, or a limiter that
fails closed); 401 for a missing, malformed, unknown, revoked, disabled,
not-yet-valid or expired key; 403 for FORBIDDEN and INSUFFICIENT_PERMISSIONS.

Headers follow draft-ietf-httpapi-ratelimit-headers (structured fields, RFC 9651):
``RateLimit-Policy: "rps";q=3;w=60`` (quota ``q``, window ``w`` in seconds when
known) and ``RateLimit: "rps";r=0;t=20`` (remaining ``r``, seconds ``t`` until the
counter is whole again or, on the limit that refused, until a retry can pass),
every limit listed, the most constraining first, plus ``Retry-After`` (whole
seconds, rounded up) on a 429 or 503 when a wait is known.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Protocol

from keystead.core.models import Code
from keystead.core.verify import Verdict, VerifiableKey

SF_INTEGER_MAX = 999_999_999_999_999
"""Largest structured-field Integer (15 digits)."""

_EMPTY_WINDOWS: Mapping[str, int] = {}
_UNAUTHORIZED = frozenset(
    {
        Code.MALFORMED,
        Code.NOT_FOUND,
        Code.REVOKED,
        Code.DISABLED,
        Code.NOT_YET_VALID,
        Code.EXPIRED,
    }
)
_LIMITED = frozenset({Code.RATE_LIMITED, Code.USAGE_EXCEEDED})
# RFC 9110's names where older Pythons' HTTPStatus still has RFC 7231's
_RFC9110_PHRASES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}
_PERIOD_S = {"day": 86_400, "week": 604_800}  # a month has no one length: no window


class LimitLike(Protocol):
    """One limit after a decision (``LimitState`` / ``LimitResult``)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def limit(self) -> int: ...
    @property
    def remaining(self) -> int: ...
    @property
    def reset(self) -> float | None: ...
    @property
    def retry_after(self) -> float | None: ...
    @property
    def allowed(self) -> bool: ...


class Outcome(Protocol):
    """What answers need of a verification: a ``Verdict`` or a ``VerifyResult``
    (``code`` is a ``Code`` or its string value)."""

    @property
    def code(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def limits(self) -> Sequence[LimitLike]: ...
    @property
    def retry_after(self) -> float | None: ...
    @property
    def shed(self) -> bool: ...


def status_for(verdict: Outcome) -> int | None:
    """The HTTP status a refused request gets; None when the verdict is valid."""
    code = verdict.code
    if code == Code.VALID:
        return None
    if verdict.shed:
        return 503
    if code in _LIMITED:
        return 429
    if code in _UNAUTHORIZED:
        return 401
    return 403


def ratelimit_headers(
    verdict: Outcome,
    *,
    now: float | None = None,
    windows: Mapping[str, int] | None = None,
) -> tuple[int | None, list[tuple[str, str]]]:
    """The status to answer with (None: serve the request) and the headers to add.

    ``now`` is the clock the verdict was decided on (default: the wall clock);
    pass ``ks.clock.now()`` when the service runs on another clock. ``windows``
    (limit name to seconds) gives the policies' ``w``; by default a ``Verdict``
    tells those of its key's own limits (``known_windows``), other outcomes none.
    """
    status = status_for(verdict)
    headers: list[tuple[str, str]] = []
    if status == 429 or status == 503:
        wait = whole_seconds(verdict.retry_after)
        if wait is not None:
            headers.append(("Retry-After", str(wait)))
    states: Sequence[LimitLike] = verdict.limits
    if states:
        moment = time.time() if now is None else now
        ordered = states if len(states) == 1 else most_constraining_first(states)
        if windows is None:
            windows = windows_of(verdict) if isinstance(verdict, Verdict) else _NO_WINDOWS
        policy = [_policy(s.name, s.kind, s.limit, windows.get(s.name)) for s in ordered]
        headers.append(("RateLimit-Policy", ", ".join(policy)))
        headers.append(("RateLimit", ", ".join(_service_limit(s, moment) for s in ordered)))
    return status, headers


def problem_for(verdict: Outcome) -> dict[str, Any]:
    """An RFC 9457 body (``application/problem+json``) for a refused verdict: ``type``,
    ``title``, ``status``, ``detail``, plus ``code`` (not on a 401: one vague answer
    for every unusable key) and ``retry_after`` (whole seconds, when known).
    Raises ``ValueError`` for a valid verdict."""
    status = status_for(verdict)
    if status is None:
        raise ValueError("a valid verdict is not a problem")
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": status_phrase(status),
        "status": status,
        "detail": _detail(verdict, status),
    }
    if status != 401:
        body["code"] = str(verdict.code)
    if status in (429, 503):
        wait = whole_seconds(verdict.retry_after)
        if wait is not None:
            body["retry_after"] = wait
    return body


def status_phrase(status: int) -> str:
    """The status phrase of RFC 9110 (``"Not Found"``): the ``title`` of every
    ``about:blank`` problem Keystead answers (RFC 9457 section 4.2.1)."""
    if status in _RFC9110_PHRASES:
        return _RFC9110_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _detail(verdict: Outcome, status: int) -> str:
    reason = verdict.reason
    if status == 401:
        return "a valid API key is required"
    if status == 503:
        if reason == "limiter_unavailable":
            return "usage limits cannot be checked right now; retry later"
        return "the service is overloaded; retry later"
    if status == 403:
        if verdict.code == Code.INSUFFICIENT_PERMISSIONS:
            return "this API key lacks the permissions this request needs"
        return "this API key may not be used for this request"
    if reason == "failed_attempts":
        return "too many failed attempts from this address; retry later"
    if verdict.code == Code.USAGE_EXCEEDED:
        return f"the usage limit '{reason}' is used up"
    return f"the rate limit '{reason}' is exceeded"


def whole_seconds(seconds: float | None) -> int | None:
    """Seconds rounded up to a whole number (None stays None, as does NaN)."""
    if seconds is None or math.isnan(seconds):
        return None
    if math.isinf(seconds):
        return SF_INTEGER_MAX if seconds > 0 else 0
    return min(SF_INTEGER_MAX, max(0, math.ceil(seconds)))


def most_constraining_first(states: Iterable[LimitLike]) -> list[LimitLike]:
    """Refusing limits first (the longest wait, or none that helps, first), then the
    least remaining as a share of the limit; ties keep their order."""
    return sorted(states, key=_constraint)


def _constraint(state: LimitLike) -> tuple[int, float, float, int]:
    if not state.allowed:
        wait = state.retry_after
        return (0, -(math.inf if wait is None else wait), 0.0, state.remaining)
    share = state.remaining / state.limit if state.limit > 0 else 0.0
    return (1, 0.0, share, state.remaining)


def limits_json(
    states: Iterable[LimitLike], windows: Mapping[str, int] = _EMPTY_WINDOWS
) -> list[dict[str, Any]]:
    """The ``limits`` of a verify answer: reset as epoch seconds rounded up,
    retry_after (on a refusing limit) in seconds rounded up to the millisecond,
    and the window in seconds where ``windows`` knows it."""
    out = []
    for state in states:
        item: dict[str, Any] = {
            "name": state.name,
            "kind": state.kind,
            "limit": state.limit,
            "remaining": state.remaining,
            "reset": None if state.reset is None else math.ceil(state.reset),
        }
        if state.retry_after is not None:
            item["retry_after"] = seconds_ms(state.retry_after)
        window = windows.get(state.name)
        if window is not None:
            item["window"] = window
        out.append(item)
    return out


def seconds_ms(seconds: float) -> float:
    """Seconds rounded up to the millisecond, never negative."""
    return max(0.0, math.ceil(seconds * 1000) / 1000)


@functools.lru_cache(maxsize=4096)
def _policy(name: str, kind: str, limit: int, window: int | None) -> str:
    """One ``RateLimit-Policy`` item (memoised: a key's policy rarely changes)."""
    item = f"{_quoted(name)};q={_sf_int(limit)}"
    if kind == "concurrency":
        item += ';qu="concurrent-requests"'
    if window is not None and kind in ("rate_limit", "quota", "credits"):
        item += f";w={window}"
    return item


def _service_limit(state: LimitLike, now: float) -> str:
    item = f"{_quoted(state.name)};r={_sf_int(state.remaining)}"
    if not state.allowed and state.retry_after is not None:
        seconds = whole_seconds(state.retry_after)
    else:
        seconds = None if state.reset is None else whole_seconds(state.reset - now)
    if seconds is not None:
        item += f";t={seconds}"
    return item


def served_limit_headers(verdict: Verdict, now: float) -> tuple[bytes, bytes] | None:
    """``RateLimit-Policy`` and ``RateLimit`` of a served verdict with exactly
    one limit, as bytes: what ``ratelimit_headers`` gives for it, built from a
    prefix kept per cached key record (a middleware adds them to every served
    request). None for any other verdict: use ``ratelimit_headers``."""
    limits = verdict.limits
    if len(limits) != 1 or verdict.code is not Code.VALID:
        return None
    state = limits[0]
    if not state.allowed:
        return None
    name = state.name
    known = _SERVED.get((verdict.record, name, state.kind, state.limit))
    if known is None:
        known = _served_prefixes(verdict, state)
    policy, prefix = known
    remaining = state.remaining
    if not 0 <= remaining <= SF_INTEGER_MAX:
        remaining = _sf_int(remaining)
    reset = state.reset
    seconds = None if reset is None else whole_seconds(reset - now)
    if seconds is None:
        return policy, b"%s%d" % (prefix, remaining)
    return policy, b"%s%d;t=%d" % (prefix, remaining, seconds)


_SERVED: dict[tuple[VerifiableKey | None, str, str, int], tuple[bytes, bytes]] = {}


def _served_prefixes(verdict: Verdict, state: LimitLike) -> tuple[bytes, bytes]:
    if len(_SERVED) >= _WINDOWS_KEPT:
        _SERVED.clear()
    window = windows_of(verdict).get(state.name)
    policy = _policy(state.name, state.kind, state.limit, window).encode("ascii")
    prefix = f"{_quoted(state.name)};r=".encode("ascii")
    known = _SERVED[(verdict.record, state.name, state.kind, state.limit)] = (policy, prefix)
    return known


_NO_WINDOWS: Mapping[str, int] = {}
_WINDOWS: dict[VerifiableKey, Mapping[str, int]] = {}
_WINDOWS_KEPT = 4096


def windows_of(verdict: Verdict) -> Mapping[str, int]:
    """``known_windows``, memoised per cached key record (a changed key is a
    new record)."""
    record = verdict.record
    if record is None:
        return _NO_WINDOWS
    windows = _WINDOWS.get(record)
    if windows is None:
        if len(_WINDOWS) >= _WINDOWS_KEPT:
            _WINDOWS.clear()
        windows = _WINDOWS[record] = known_windows(verdict)
    return windows


def known_windows(verdict: Verdict) -> dict[str, int]:
    """Window lengths the verdict can tell: those of the key's own limit set (its
    rate limits, a day or week quota, a credits refill interval). Limits from a plan
    or an owner, and per-call ones, carry no window in the verdict."""
    key = verdict.key
    if key is None or not key.limits:
        return {}
    own = key.limits
    out: dict[str, int] = {}
    for rate in own.get("ratelimits", ()):
        out[rate["name"]] = max(1, math.ceil(rate["duration_s"]))
    quota = own.get("quota")
    if quota is not None and quota.get("period") in _PERIOD_S:
        out["quota"] = _PERIOD_S[quota["period"]]
    credits = own.get("credits")
    refill = None if credits is None else credits.get("refill")
    if refill is not None:
        out["credits"] = max(1, math.ceil(refill["interval_s"]))
    return out


def _sf_int(value: int) -> int:
    return min(SF_INTEGER_MAX, max(0, value))


@functools.lru_cache(maxsize=4096)
def _quoted(name: str) -> str:
    return sf_string(name)


def sf_string(text: str) -> str:
    """A structured-field String. Its characters are printable ASCII only, so any
    other character (and ``%``) is percent-encoded as UTF-8: names stay readable
    and ``urllib.parse.unquote`` restores them."""
    out = ['"']
    for char in text:
        if char == "%" or not " " <= char <= "~":
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        elif char in '"\\':
            out.append("\\" + char)
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


__all__ = [
    "SF_INTEGER_MAX",
    "LimitLike",
    "Outcome",
    "known_windows",
    "limits_json",
    "most_constraining_first",
    "problem_for",
    "ratelimit_headers",
    "seconds_ms",
    "served_limit_headers",
    "sf_string",
    "status_for",
    "status_phrase",
    "whole_seconds",
    "windows_of",
]
