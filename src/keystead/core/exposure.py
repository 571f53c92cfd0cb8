"""What a key did after it leaked. Pure: no I/O, no clock.

The exposure analysis compares a key's usage between its leak time and its
revocation (or now, for a key still live) with its usage before the leak, and
labels it ``abused`` or ``no sign of abuse``. The rule, in order:

1. no use at all in the window -> ``no sign of abuse``;
2. no history before the leak (the key was never used) -> ``abused``
   (``no_history``): whoever uses it after the leak may well not be its owner;
3. otherwise ``abused`` for each of these that holds (the ``reasons``):
   ``new_ip_range`` a use from a /24 (IPv4) or /48 (IPv6) network never seen
   before the leak; ``new_country`` a country never seen; ``new_user_agent``
   a user agent never seen; ``volume_spike`` at least ``MIN_SPIKE_REQUESTS``
   requests after the leak at over ``SPIKE_FACTOR`` times the hourly rate before;
4. else ``no sign of abuse``.

A record without an IP, country or user agent says nothing new. Every
record of the key counts as a use, whatever its outcome: a rate-limited call
was still made with the key. Rates are requests per hour over at least an
hour (``MIN_RATE_S``), so a burst of three calls in a minute is three an hour.
The evidence holds counts, first-seen times and capped lists of values
(``MAX_VALUES``): ids, networks, countries and user agents, never a key.

``leaked_use`` is the ``leaked_key_used`` detector: any use of a key at or
after its leak time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keystead.core.alerts import Finding
from keystead.core.detectors import ip_range
from keystead.core.usage import UsageRecord, bucket_start

ABUSED = "abused"
NO_SIGN = "no sign of abuse"
LABELS = (ABUSED, NO_SIGN)
REASONS = ("no_history", "new_ip_range", "new_country", "new_user_agent", "volume_spike")
SPIKE_FACTOR = 5.0
MIN_SPIKE_REQUESTS = 10
"""Requests after the leak below which no rate is called a spike."""
MIN_RATE_S = 3600.0
"""The shortest span a rate is taken over: one hour."""
MAX_VALUES = 20
"""New values listed per kind in the evidence (the count covers them all)."""
_KINDS = (
    ("ip_ranges", "new_ip_range"),
    ("countries", "new_country"),
    ("user_agents", "new_user_agent"),
)
_COLUMNS = {"ip_ranges": "ip", "countries": "country", "user_agents": "user_agent"}
"""The usage record field each kind of value comes from."""


@dataclass(slots=True, frozen=True)
class History:
    """What the key did before the leak: its request count over ``seconds``
    (from its first hour with traffic to the leak) and the networks (/24,
    /48), countries and user agents it was used from (``None``: not read,
    because no use after the leak carries that kind of value)."""

    requests: int
    seconds: float
    ip_ranges: frozenset[str] | None = frozenset()
    countries: frozenset[str] | None = frozenset()
    user_agents: frozenset[str] | None = frozenset()

    @property
    def per_hour(self) -> float:
        return per_hour(self.requests, self.seconds)


def history_of(records: Iterable[UsageRecord], leaked_at: float) -> History | None:
    """The history of raw records before ``leaked_at`` (``None``: none)."""
    before = [r for r in records if r.at < leaked_at]
    if not before:
        return None
    first = bucket_start(min(r.at for r in before), "hour")
    return History(
        requests=len(before),
        seconds=leaked_at - first,
        ip_ranges=frozenset(ip_range(r.ip) for r in before if r.ip is not None),
        countries=frozenset(r.country for r in before if r.country is not None),
        user_agents=frozenset(r.user_agent for r in before if r.user_agent is not None),
    )


def per_hour(requests: int, seconds: float) -> float:
    return requests * 3600.0 / max(seconds, MIN_RATE_S)


@dataclass(slots=True, frozen=True)
class NewValue:
    """A value first seen after the leak: when, and in how many requests
    (``None`` both for a value found beyond the records read)."""

    value: str
    first_seen: float | None
    requests: int | None


@dataclass(slots=True, frozen=True)
class Exposure:
    """The label, why, and the evidence. ``new`` maps ``ip_ranges``,
    ``countries`` and ``user_agents`` to the values never seen before the leak
    (first seen first, at most ``MAX_VALUES``); ``new_counts`` counts them all."""

    label: str
    reasons: tuple[str, ...]
    leaked_at: float
    until: float
    history: History | None
    requests_after: int
    first_use: float | None
    last_use: float | None
    codes: dict[str, int] = field(default_factory=dict)
    new: dict[str, tuple[NewValue, ...]] = field(default_factory=dict)
    new_counts: dict[str, int] = field(default_factory=dict)
    factor: float = SPIKE_FACTOR
    truncated: bool = False
    """More records in the window than were read: counts stand, values may miss some."""

    @property
    def abused(self) -> bool:
        return self.label == ABUSED

    @property
    def per_hour_after(self) -> float:
        return per_hour(self.requests_after, self.until - self.leaked_at)

    @property
    def ratio(self) -> float | None:
        """Requests per hour after the leak over before (``None``: no history,
        or no requests before)."""
        if self.history is None or self.history.per_hour == 0:
            return None
        return self.per_hour_after / self.history.per_hour

    def summary(self) -> str:
        """One line for people: the label and its reasons."""
        if self.requests_after == 0:
            return f"{NO_SIGN}: the key was not used after the leak"
        used = f"used {self.requests_after} times after the leak"
        if not self.reasons:
            return f"{NO_SIGN}: {used}, from networks, countries and clients it knew"
        return f"{ABUSED}: {used} ({', '.join(self.reasons)})"

    def as_json(self) -> dict[str, Any]:
        """The evidence as JSON (times in ISO 8601): bounded, no key."""
        h = self.history
        ratio = self.ratio
        return {
            "label": self.label,
            "reasons": list(self.reasons),
            "summary": self.summary(),
            "leaked_at": _iso(self.leaked_at),
            "until": _iso(self.until),
            "before": None
            if h is None
            else {
                "requests": h.requests,
                "hours": round(h.seconds / 3600, 3),
                "per_hour": round(h.per_hour, 3),
                "ip_ranges": _size(h.ip_ranges),
                "countries": _size(h.countries),
                "user_agents": _size(h.user_agents),
            },
            "after": {
                "requests": self.requests_after,
                "hours": round((self.until - self.leaked_at) / 3600, 3),
                "per_hour": round(self.per_hour_after, 3),
                "first_use": _iso(self.first_use),
                "last_use": _iso(self.last_use),
                "codes": dict(sorted(self.codes.items())),
            },
            "ratio": None if ratio is None else round(ratio, 3),
            "new": {
                kind: {
                    "count": self.new_counts.get(kind, 0),
                    "values": [
                        {"value": v.value, "first_seen": _iso(v.first_seen), "requests": v.requests}
                        for v in self.new.get(kind, ())
                    ],
                }
                for kind, _ in _KINDS
            },
            "rule": {"spike_factor": self.factor, "min_spike_requests": MIN_SPIKE_REQUESTS},
            "truncated": self.truncated,
        }


def assess(
    history: History | None,
    after: Iterable[UsageRecord],
    leaked_at: float,
    until: float,
    *,
    requests_after: int | None = None,
    beyond: Mapping[str, Collection[str]] | None = None,
    factor: float = SPIKE_FACTOR,
) -> Exposure:
    """Label the key's records in [leaked_at, until) against its ``history``.
    When ``after`` was cut short: ``requests_after`` is the window's true
    count, and ``beyond`` every distinct ``ip`` address, ``country`` and
    ``user_agent`` of the window, so no new value goes unseen."""
    window = sorted((r for r in after if leaked_at <= r.at < until), key=lambda r: r.at)
    count = len(window) if requests_after is None else max(requests_after, len(window))
    known = history if history is not None and history.requests > 0 else None
    new, new_counts = _new_values(window, known, beyond or {})
    reasons: list[str] = []
    if count > 0:
        if known is None:
            reasons.append("no_history")
        else:
            reasons.extend(reason for kind, reason in _KINDS if new_counts[kind])
            rate = per_hour(count, until - leaked_at)
            if count >= MIN_SPIKE_REQUESTS and rate > factor * known.per_hour:
                reasons.append("volume_spike")
    return Exposure(
        label=ABUSED if reasons else NO_SIGN,
        reasons=tuple(reasons),
        leaked_at=leaked_at,
        until=until,
        history=history,
        requests_after=count,
        first_use=window[0].at if window else None,
        last_use=window[-1].at if window else None,
        codes=dict(Counter(r.code for r in window)),
        new=new,
        new_counts=new_counts,
        factor=factor,
        truncated=requests_after is not None and requests_after > len(window),
    )


def _new_values(
    window: Sequence[UsageRecord], history: History | None, beyond: Mapping[str, Collection[str]]
) -> tuple[dict[str, tuple[NewValue, ...]], dict[str, int]]:
    seen: dict[str, dict[str, list[float]]] = {kind: {} for kind, _ in _KINDS}
    known = {
        "ip_ranges": (history.ip_ranges if history else None) or frozenset(),
        "countries": (history.countries if history else None) or frozenset(),
        "user_agents": (history.user_agents if history else None) or frozenset(),
    }
    ranges: dict[str, str] = {}  # an address's network, computed once per address

    def network(ip: str) -> str:
        found = ranges.get(ip)
        if found is None:
            found = ranges[ip] = ip_range(ip)
        return found

    for r in window:
        values = {
            "ip_ranges": None if r.ip is None else network(r.ip),
            "countries": r.country,
            "user_agents": r.user_agent,
        }
        for kind, value in values.items():
            if value is not None and value not in known[kind]:
                seen[kind].setdefault(value, []).append(r.at)
    new: dict[str, tuple[NewValue, ...]] = {}
    counts: dict[str, int] = {}
    for kind, found in seen.items():
        timed = [
            NewValue(value, times[0], len(times))
            for value, times in sorted(found.items(), key=lambda item: (item[1][0], item[0]))
        ]
        more = {network(v) if kind == "ip_ranges" else v for v in beyond.get(_COLUMNS[kind], ())}
        untimed = sorted(more - known[kind] - found.keys())
        counts[kind] = len(timed) + len(untimed)
        new[kind] = tuple([*timed, *(NewValue(v, None, None) for v in untimed)][:MAX_VALUES])
    return new, counts


def _size(values: frozenset[str] | None) -> int | None:
    return None if values is None else len(values)


def leaked_use(records: Iterable[UsageRecord], leaks: Mapping[str, float]) -> list[Finding]:
    """``leaked_key_used``: keys of ``leaks`` (key id -> leak time) used at or
    after their leak time."""
    used: dict[str, list[UsageRecord]] = {}
    for r in records:
        if r.key_id is not None and r.key_id in leaks and r.at >= leaks[r.key_id]:
            used.setdefault(r.key_id, []).append(r)
    found = []
    for key_id, rs in sorted(used.items()):
        rs.sort(key=lambda r: r.at)
        leaked = _iso(leaks[key_id])
        found.append(
            Finding(
                "key",
                key_id,
                f"key {key_id} was used {len(rs)} times after it leaked ({leaked})",
                {
                    "uses": len(rs),
                    "leaked_at": leaked,
                    "first_use": _iso(rs[0].at),
                    "codes": sorted({r.code for r in rs}),
                    "ips": sorted({r.ip for r in rs if r.ip is not None})[:MAX_VALUES],
                },
                rs,
            )
        )
    return found


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat()


__all__ = [
    "ABUSED",
    "LABELS",
    "MAX_VALUES",
    "MIN_RATE_S",
    "MIN_SPIKE_REQUESTS",
    "NO_SIGN",
    "REASONS",
    "SPIKE_FACTOR",
    "Exposure",
    "History",
    "NewValue",
    "assess",
    "history_of",
    "leaked_use",
    "per_hour",
]
