"""What the Redis backends share: the Lua scripts, how a decision is written as
one EVALSHA and read back, connection options and error wrapping.

Nothing here imports the ``redis`` driver; ``driver()`` does, lazily, and
names the extra to install when it is missing.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import secrets
import time
from collections.abc import Sequence
from importlib.resources import files
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from keystead.errors import LimiterUnavailable, MissingDependency
from keystead.limits._calendar import bounds_around, period_bounds
from keystead.limits.decision import Check, Decision, Lease, LimitResult, check_keys, refused
from keystead.limits.specs import Concurrency, Credits, Quota, RateLimit, Spec

SOCKET_TIMEOUT_S = 0.5
"""Default read/connect timeout: a stalled Redis fails a decision, never hangs it."""


class Script:
    """One Lua file of ``keystead/limits/lua`` and its SHA1 for EVALSHA."""

    __slots__ = ("sha", "source")

    def __init__(self, name: str) -> None:
        self.source = (files("keystead.limits") / "lua" / f"{name}.lua").read_text("utf-8")
        self.sha = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()


DECIDE = Script("decide")
SET_CREDITS = Script("set_credits")
ADJUST_CREDITS = Script("adjust_credits")


def driver(module: str = "redis") -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependency(
            "Redis Cluster and ?client=redis-py need the redis driver:"
            " pip install 'keystead[redis]'"
        ) from error


def split_url(url: str, defaults: dict[str, Any]) -> tuple[str, bool, dict[str, Any]]:
    """``(driver url, cluster?, keyword options)``: ``redis+cluster://`` and
    ``rediss+cluster://`` become plain schemes for the driver; timeouts
    default to :data:`SOCKET_TIMEOUT_S` unless the query sets them."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    cluster = scheme.endswith("+cluster")
    plain = urlunsplit(parts._replace(scheme=scheme.removesuffix("+cluster")))
    options = dict(defaults)
    given = {name for name, _ in parse_qsl(parts.query)}
    for name in ("socket_timeout", "socket_connect_timeout"):
        if name not in given:
            options[name] = SOCKET_TIMEOUT_S
    return plain, cluster, options


def unavailable(error: BaseException) -> LimiterUnavailable:
    detail = str(error).split("\n", 1)[0][:200] or type(error).__name__
    return LimiterUnavailable(f"rate-limit backend failed: {detail}")


_wire_cache: dict[Spec, tuple[str, ...]] = {}


def _wire(spec: Spec) -> tuple[str, ...]:
    """The static part of a check's ARGV group (everything after the cost)."""
    hit = _wire_cache.get(spec)
    if hit is not None:
        return hit
    args: tuple[str, ...]
    if isinstance(spec, RateLimit):
        if spec.algorithm == "gcra":
            args = (repr(spec._interval), repr(spec._tolerance), str(spec.effective_burst))
        else:
            args = (str(spec.limit), repr(spec.duration_s))
    elif isinstance(spec, Quota):
        args = (str(spec.limit),)
    elif isinstance(spec, Credits):
        plan = spec.refill
        if plan is None:
            args = (str(spec.remaining), "0", "0", "0", "-1")
        else:
            mode = "1" if plan.mode == "set" else "2"
            cap = "-1" if plan.cap is None else str(plan.cap)
            args = (str(spec.remaining), mode, str(plan.amount), repr(plan.interval_s), cap)
    else:
        args = (str(spec.limit), repr(spec.lease_s))
    if len(_wire_cache) >= 4096:
        _wire_cache.clear()
    _wire_cache[spec] = args
    return args


_KIND = {RateLimit: "g", Quota: "q", Credits: "c", Concurrency: "n"}


class Encoder:
    """Turns checks into EVALSHA keys and arguments; makes lease ids that are
    unique across processes (a random prefix per limiter, then a counter)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6)
        self._ids = itertools.count(1)

    def encode(
        self, checks: Sequence[Check], now: float | None
    ) -> tuple[list[str], list[str], list[Lease | None]]:
        check_keys(checks)
        keys: list[str] = []
        args = ["" if now is None else repr(float(now))]
        leases: list[Lease | None] = []
        for key, spec, cost in checks:
            keys.append(key)
            kind = _KIND[type(spec)]
            if kind == "g" and type(spec) is RateLimit and spec.algorithm != "gcra":
                kind = "s"
            args.append(kind)
            args.append(str(cost))
            args.extend(_wire(spec))
            lease = None
            if type(spec) is Quota:
                if now is None:
                    args.extend(repr(b) for b in bounds_around(spec, time.time()))
                else:
                    start, end = period_bounds(spec, now)
                    args.extend((repr(start), repr(start), repr(end), repr(end)))
            elif type(spec) is Concurrency:
                lease = Lease(key, f"{self._prefix}.{next(self._ids)}")
                args.append(lease.id)
            leases.append(lease if cost else None)
        return keys, args, leases

    def encode_resp(
        self, checks: Sequence[Check], now: float | None
    ) -> tuple[bytes, list[Lease | None]]:
        """The whole EVALSHA command as RESP bytes, for the synchronous client."""
        if len(checks) == 1:
            key, spec, cost = checks[0]
            if isinstance(spec, RateLimit) and type(cost) is int and cost >= 0:
                count, group = _resp_group(spec)
                return b"".join(
                    (
                        b"*%d\r\n" % (count + 7),
                        _EVALSHA_1,
                        _bulk(key),
                        _now(now),
                        _KIND_OF[spec.algorithm],
                        _cost(cost),
                        group,
                    )
                ), [None]
        keys, args, leases = self.encode(checks, now)
        return pack_evalsha(DECIDE, keys, args), leases


def pack_evalsha(script: Script, keys: Sequence[str], args: Sequence[str]) -> bytes:
    command = ("EVALSHA", script.sha, str(len(keys)), *keys, *args)
    return b"".join([b"*%d\r\n" % len(command), *map(_bulk, command)])


def _bulk(value: str) -> bytes:
    data = value.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _now(now: float | None) -> bytes:
    return _bulk("" if now is None else repr(float(now)))


_EVALSHA_1 = _bulk("EVALSHA") + _bulk(DECIDE.sha) + _bulk("1")
_KIND_OF = {"gcra": _bulk("g"), "sliding_window": _bulk("s")}
_COSTS = [_bulk(str(i)) for i in range(64)]
_resp_cache: dict[Spec, tuple[int, bytes]] = {}


def _cost(cost: int) -> bytes:
    return _COSTS[cost] if cost < 64 else _bulk(str(cost))


def _resp_group(spec: Spec) -> tuple[int, bytes]:
    """A spec's static ARGV as RESP bulk strings: (how many, bytes)."""
    hit = _resp_cache.get(spec)
    if hit is None:
        args = _wire(spec)
        if len(_resp_cache) >= 4096:
            _resp_cache.clear()
        hit = _resp_cache[spec] = (len(args), b"".join(map(_bulk, args)))
    return hit


def decode(reply: bytes, checks: Sequence[Check], leases: list[Lease | None]) -> Decision:
    """Read the script's one-string answer (see lua/decide.lua)."""
    fields = reply.split(b" ")
    results = []
    base = 1
    for _, spec, _cost in checks:
        reset, retry = fields[base + 2], fields[base + 3]
        results.append(
            LimitResult(
                spec.name,
                spec.kind,
                spec.remaining if isinstance(spec, Credits) else spec.limit,
                int(fields[base + 1]),
                float(reset) if reset else None,
                float(retry) if retry else None,
                fields[base] == b"1",
            )
        )
        base += 4
    if fields[0] == b"1":
        return Decision(True, None, tuple(results), tuple(x for x in leases if x is not None))
    return refused(tuple(results))


def credits_state(reply: Sequence[Any]) -> tuple[int, float | None] | None:
    """The (remaining, refilled_at) of an HMGET r t reply, None when unset."""
    if reply[0] is None:
        return None
    return int(float(reply[0])), None if reply[1] is None else float(reply[1])
