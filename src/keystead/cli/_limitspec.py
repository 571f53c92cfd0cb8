"""The compact text form of limits on the command line, and back.

- ``--ratelimit NAME=LIMIT/DURATION[,burst=N][,algorithm=gcra|sliding_window]``,
  e.g. ``rps=100/1s``, ``rpm=1000/60s,burst=50``, ``day=10000/1d,algorithm=sliding_window``
- ``--quota LIMIT/PERIOD[,tz=ZONE][,offset=DURATION]``,
  e.g. ``10000/month``, ``500/day,tz=Europe/Paris,offset=3600``
- ``--credits N[,refill=AMOUNT/DURATION][,mode=set|add][,cap=N]``,
  e.g. ``1000``, ``1000,refill=100/1d``, ``1000,refill=1000/30d,mode=set``
- ``--concurrency N[,lease=DURATION]``, e.g. ``5``, ``5,lease=30s``

A DURATION is a number and a unit, ``s``, ``m``, ``h`` or ``d`` (``1s``, ``0.5s``,
``60s``, ``1d``); an offset may also be bare seconds (``3600``). A PERIOD is
``day``, ``week`` or ``month``; ALGORITHM is ``gcra`` (default) or
``sliding_window``. (The options also take JSON: ``_limitopts``.)

``parse_*`` give the canonical JSON the service stores (defaults filled in), and
``format_*`` write the shortest text for it (defaults left out), so that
``parse(format(spec)) == spec``. Only the syntax is checked here (exit code 2);
whether the numbers make sense (a limit of 0, an unknown time zone) is the
service's call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from keystead.cli._runtime import UsageProblem

Json = dict[str, Any]

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_INT = re.compile(r"\d{1,15}")
_NUMBER = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_DURATION = re.compile(rf"({_NUMBER})([smhd]?)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UNIT_ORDER = (("d", 86400), ("h", 3600), ("m", 60))
_MAX_SECONDS = Decimal(10**12)
PERIODS = ("day", "week", "month")
ALGORITHMS = ("gcra", "sliding_window")
MODES = ("set", "add")
DEFAULT_LEASE_S = 60.0


class _Spec:
    """One option value being read: the option's name for every error message."""

    def __init__(self, option: str, text: str) -> None:
        self.option = option
        self.text = text.strip()
        if not self.text:
            raise UsageProblem(f"{option} is empty")

    def fail(self, problem: str, example: str) -> UsageProblem:
        return UsageProblem(f"{self.option} {self.text!r}: {problem} (e.g. {example})")

    def split(self, known: tuple[str, ...], example: str) -> tuple[str, dict[str, str]]:
        """``HEAD,key=value,...`` into the head and the settings (each at most once)."""
        head, *rest = (part.strip() for part in self.text.split(","))
        settings: dict[str, str] = {}
        for part in rest:
            name, sep, value = part.partition("=")
            name, value = name.strip().lower(), value.strip()
            if not sep or not name or not value:
                raise self.fail(f"expected key=value after a comma, got {part!r}", example)
            if name not in known:
                raise self.fail(f"unknown setting {name!r} (known: {', '.join(known)})", example)
            if name in settings:
                raise self.fail(f"{name} is given twice", example)
            settings[name] = value
        return head, settings

    def integer(self, text: str, what: str, example: str) -> int:
        if not _INT.fullmatch(text):
            raise self.fail(f"{what} must be a whole number (0 or more), got {text!r}", example)
        return int(text)

    def seconds(self, text: str, what: str, example: str, *, bare: bool = False) -> float:
        """A duration in seconds: ``30s``, ``1.5m``, ``12h``, ``1d`` (or bare seconds)."""
        match = _DURATION.fullmatch(text.strip().lower())
        if match is None or (not match[2] and not bare):
            raise self.fail(f"{what} needs a unit s, m, h or d (30s, 1m), got {text!r}", example)
        value = Decimal(match[1]) * _UNITS[match[2] or "s"]  # the pattern admits numbers only
        if value > _MAX_SECONDS:
            raise self.fail(f"{what} is too long", example)
        if value <= 0 and not bare:
            raise self.fail(f"{what} must be longer than zero", example)
        return float(value)

    def choice(self, text: str, what: str, choices: tuple[str, ...], example: str) -> str:
        value = text.lower()
        if value not in choices:
            raise self.fail(f"{what} is one of {', '.join(choices)}, got {text!r}", example)
        return value

    def fraction(self, text: str, form: str, example: str) -> tuple[str, str]:
        """``A/B`` into its two halves; ``form`` says how it is written."""
        left, sep, right = text.rpartition("/")
        if not sep or not left.strip() or not right.strip():
            raise self.fail(f"expected {form}, got {text!r}", example)
        return left.strip(), right.strip()


# -- parsing ------------------------------------------------------------------

_RL_EXAMPLE = "rpm=1000/60s,burst=50"


def parse_ratelimit(text: str, option: str = "--ratelimit") -> Json:
    spec = _Spec(option, text)
    head, settings = spec.split(("burst", "algorithm"), _RL_EXAMPLE)
    name, sep, rate = head.partition("=")
    name = name.strip()
    if not sep or not name:
        raise spec.fail("a rate limit is NAME=LIMIT/DURATION", _RL_EXAMPLE)
    if not _NAME.fullmatch(name):
        raise spec.fail(
            "a name is 1 to 64 of A-Z a-z 0-9 _ . : - (use JSON for other names)", _RL_EXAMPLE
        )
    limit, duration = spec.fraction(rate, "NAME=LIMIT/DURATION", _RL_EXAMPLE)
    out: Json = {
        "name": name,
        "limit": spec.integer(limit, "the limit", _RL_EXAMPLE),
        "duration_s": spec.seconds(duration, "the duration", _RL_EXAMPLE),
        "algorithm": spec.choice(
            settings.get("algorithm", "gcra"), "algorithm", ALGORITHMS, _RL_EXAMPLE
        ),
    }
    if "burst" in settings:
        out["burst"] = spec.integer(settings["burst"], "burst", _RL_EXAMPLE)
    return out


_QUOTA_EXAMPLE = "10000/month or 500/day,tz=Europe/Paris,offset=3600"


def parse_quota(text: str, option: str = "--quota") -> Json:
    spec = _Spec(option, text)
    head, settings = spec.split(("tz", "timezone", "offset"), _QUOTA_EXAMPLE)
    if "tz" in settings and "timezone" in settings:
        raise spec.fail("give tz or timezone, not both", _QUOTA_EXAMPLE)
    limit, period = spec.fraction(head, "LIMIT/PERIOD", _QUOTA_EXAMPLE)
    offset = 0.0
    if "offset" in settings:
        offset = spec.seconds(settings["offset"], "offset", _QUOTA_EXAMPLE, bare=True)
        if not offset.is_integer():
            raise spec.fail("offset is a whole number of seconds", _QUOTA_EXAMPLE)
    return {
        "limit": spec.integer(limit, "the limit", _QUOTA_EXAMPLE),
        "period": spec.choice(period, "the period", PERIODS, _QUOTA_EXAMPLE),
        "timezone": settings.get("tz", settings.get("timezone", "UTC")),
        "offset_s": int(offset),
    }


_CREDITS_EXAMPLE = "1000 or 1000,refill=100/1d or 1000,refill=10/1h,mode=add,cap=500"


def parse_credits(text: str, option: str = "--credits") -> Json:
    spec = _Spec(option, text)
    head, settings = spec.split(("refill", "mode", "cap"), _CREDITS_EXAMPLE)
    out: Json = {
        "remaining": spec.integer(head, "the balance", _CREDITS_EXAMPLE),
        "refill": None,
    }
    if "refill" not in settings:
        if settings:
            raise spec.fail(f"{min(settings)} needs refill=AMOUNT/DURATION", _CREDITS_EXAMPLE)
        return out
    amount, interval = spec.fraction(settings["refill"], "refill=AMOUNT/DURATION", _CREDITS_EXAMPLE)
    refill: Json = {
        "amount": spec.integer(amount, "the refill amount", _CREDITS_EXAMPLE),
        "interval_s": spec.seconds(interval, "the refill interval", _CREDITS_EXAMPLE),
        "mode": spec.choice(settings.get("mode", "set"), "mode", MODES, _CREDITS_EXAMPLE),
    }
    if "cap" in settings:
        refill["cap"] = spec.integer(settings["cap"], "cap", _CREDITS_EXAMPLE)
    out["refill"] = refill
    return out


_CONCURRENCY_EXAMPLE = "5 or 5,lease=30s"


def parse_concurrency(text: str, option: str = "--concurrency") -> Json:
    spec = _Spec(option, text)
    head, settings = spec.split(("lease",), _CONCURRENCY_EXAMPLE)
    lease = DEFAULT_LEASE_S
    if "lease" in settings:
        lease = spec.seconds(settings["lease"], "lease", _CONCURRENCY_EXAMPLE)
    return {
        "limit": spec.integer(head, "the limit", _CONCURRENCY_EXAMPLE),
        "lease_s": lease,
    }


# -- formatting ---------------------------------------------------------------


def format_seconds(value: float) -> str:
    """The shortest duration text that reads back as exactly ``value``."""
    if float(value).is_integer() and value > 0:
        whole = int(value)
        for unit, size in _UNIT_ORDER:
            if whole % size == 0:
                return f"{whole // size}{unit}"
        return f"{whole}s"
    return f"{float(value)!r}s"


def _offset(value: int) -> str:
    return "0" if value == 0 else format_seconds(value)


def format_ratelimit(spec: Mapping[str, Any]) -> str:
    text = f"{spec['name']}={spec['limit']}/{format_seconds(spec['duration_s'])}"
    if spec.get("burst") is not None:
        text += f",burst={spec['burst']}"
    if spec.get("algorithm", "gcra") != "gcra":
        text += f",algorithm={spec['algorithm']}"
    return text


def format_quota(spec: Mapping[str, Any]) -> str:
    text = f"{spec['limit']}/{spec.get('period', 'month')}"
    if spec.get("timezone", "UTC") != "UTC":
        text += f",tz={spec['timezone']}"
    if spec.get("offset_s", 0):
        text += f",offset={_offset(spec['offset_s'])}"
    return text


def format_credits(spec: Mapping[str, Any]) -> str:
    text = str(spec["remaining"])
    refill = spec.get("refill")
    if refill:
        text += f",refill={refill['amount']}/{format_seconds(refill['interval_s'])}"
        if refill.get("mode", "set") != "set":
            text += f",mode={refill['mode']}"
        if refill.get("cap") is not None:
            text += f",cap={refill['cap']}"
    return text


def format_concurrency(spec: Mapping[str, Any]) -> str:
    text = str(spec["limit"])
    if spec.get("lease_s", DEFAULT_LEASE_S) != DEFAULT_LEASE_S:
        text += f",lease={format_seconds(spec['lease_s'])}"
    return text


__all__ = [
    "ALGORITHMS",
    "MODES",
    "PERIODS",
    "format_concurrency",
    "format_credits",
    "format_quota",
    "format_ratelimit",
    "format_seconds",
    "parse_concurrency",
    "parse_credits",
    "parse_quota",
    "parse_ratelimit",
]
