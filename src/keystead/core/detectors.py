"""The anomaly detectors of alert rules. Pure: no I/O, no clock.

Each takes the raw records of the rule's window and, where it needs one, each
key's **baseline**: what the key did before the window (its own history, read
from the hour rollups or, for first-seen values, from its raw records). A key
without a baseline is never reported by a detector that needs one: nothing
can be a spike or new for it yet.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from keystead.core.alerts import MAX_EVIDENCE, Finding
from keystead.core.usage import Rollup, UsageRecord

FAILED_AUTH = frozenset({"MALFORMED", "NOT_FOUND"})
DEAD_KEY = frozenset({"REVOKED", "EXPIRED"})
IPV4_PREFIX = 24
IPV6_PREFIX = 48
MIN_RESPONSES = 20
"""Responses (records with a status) a key needs in the window before its
error rate is compared: two failures out of three calls are not a spike."""
MIN_ERROR_RATE = 0.01
"""The baseline error rate a key with (almost) no past errors is held to."""


@dataclass(slots=True, frozen=True)
class Baseline:
    """A key's history before the window: ``seconds`` it covers (from its first
    hour with traffic to the window's hour) and its merged rollup."""

    seconds: float
    rollup: Rollup

    def per_window(self, value: float, window_s: float) -> float:
        """``value`` (a total over the baseline) as an average per window."""
        return value * window_s / self.seconds


def _by(records: Iterable[UsageRecord], attr: str) -> dict[str, list[UsageRecord]]:
    groups: dict[str, list[UsageRecord]] = defaultdict(list)
    for r in records:
        value = getattr(r, attr)
        if value is not None:
            groups[value].append(r)
    return groups


def revoked_use(records: Iterable[UsageRecord]) -> list[Finding]:
    """Any use of a revoked or expired key (a rotated-out key past its grace
    answers EXPIRED)."""
    dead = _by((r for r in records if r.code in DEAD_KEY), "key_id")
    return [
        Finding(
            "key",
            key_id,
            f"key {key_id} was used {len(rs)} times after it was revoked or expired",
            {"attempts": len(rs), "codes": sorted({r.code for r in rs})},
            rs,
        )
        for key_id, rs in sorted(dead.items())
    ]


def brute_force(records: Iterable[UsageRecord], at_least: float) -> list[Finding]:
    """An IP with at least ``at_least`` malformed or unknown keys presented."""
    failed = _by((r for r in records if r.code in FAILED_AUTH), "ip")
    return [
        Finding(
            "ip",
            ip,
            f"{len(rs)} failed authentications from {ip}",
            {"attempts": len(rs), "ip": ip},
            rs,
        )
        for ip, rs in sorted(failed.items())
        if len(rs) >= at_least
    ]


def ip_range(ip: str) -> str:
    """The network an address belongs to for ``new_ip_range``: its /24 (IPv4)
    or /48 (IPv6); a value that is not an address stands for itself."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def first_seen(
    records: Iterable[UsageRecord], known: Mapping[str, set[str]], attr: str
) -> list[Finding]:
    """Keys used with a value of ``attr`` (country, user_agent, ip_range)
    absent from ``known``, their history. ``ip_range`` compares the /24 or /48
    of the record's IP (``known`` holds ranges)."""
    label = attr.replace("_", " ")
    found = []
    for key_id, rs in sorted(_by(records, "key_id").items()):
        history = known.get(key_id)
        if not history:
            continue
        fresh: dict[str, list[UsageRecord]] = defaultdict(list)
        for r in rs:
            value = _value(r, attr)
            if value is not None and value not in history:
                fresh[value].append(r)
        if fresh:
            values = sorted(fresh)
            shown = [r for group in fresh.values() for r in group]
            shown.sort(key=lambda r: r.at)
            found.append(
                Finding(
                    "key",
                    key_id,
                    f"key {key_id} was used from a new {label}: {', '.join(values)[:200]}",
                    {"new": values[:MAX_EVIDENCE], "known": len(history)},
                    shown,
                )
            )
    return found


def _value(record: UsageRecord, attr: str) -> str | None:
    if attr == "ip_range":
        return None if record.ip is None else ip_range(record.ip)
    value = getattr(record, attr)
    return None if value is None else str(value)


def volume_spike(
    records: Iterable[UsageRecord],
    baselines: Mapping[str, Baseline],
    window_s: float,
    factor: float,
) -> list[Finding]:
    """Keys with more requests in the window than ``factor`` times their
    average per window over the baseline."""
    found = []
    for key_id, rs in sorted(_by(records, "key_id").items()):
        baseline = baselines.get(key_id)
        if baseline is None or baseline.rollup.count == 0:
            continue
        average = baseline.per_window(baseline.rollup.count, window_s)
        if len(rs) > factor * average:
            found.append(
                Finding(
                    "key",
                    key_id,
                    f"key {key_id} made {len(rs)} requests, over {factor:g}x its average "
                    f"of {average:.3g} per window",
                    {"requests": len(rs), "baseline_average": average, "factor": factor},
                    rs,
                )
            )
    return found


def bytes_spike(
    records: Iterable[UsageRecord],
    baselines: Mapping[str, Baseline],
    window_s: float,
    factor: float,
) -> list[Finding]:
    """Keys that sent more response bytes in the window than ``factor`` times
    their average per window: data leaving faster than it ever did."""
    found = []
    for key_id, rs in sorted(_by(records, "key_id").items()):
        baseline = baselines.get(key_id)
        if baseline is None or baseline.rollup.bytes_out == 0:
            continue
        sent = sum(r.bytes_out or 0 for r in rs)
        average = baseline.per_window(baseline.rollup.bytes_out, window_s)
        if sent > factor * average:
            heavy = sorted((r for r in rs if r.bytes_out), key=lambda r: r.bytes_out or 0)
            found.append(
                Finding(
                    "key",
                    key_id,
                    f"key {key_id} received {sent} response bytes, over {factor:g}x its "
                    f"average of {average:.0f} per window",
                    {"bytes_out": sent, "baseline_average": average, "factor": factor},
                    heavy,
                )
            )
    return found


def error_spike(
    records: Iterable[UsageRecord], baselines: Mapping[str, Baseline], factor: float
) -> list[Finding]:
    """Keys whose error rate in the window (4xx and 5xx among the responses
    that carry a status, as in analytics) is over ``factor`` times their
    baseline rate (at least ``MIN_ERROR_RATE``), on ``MIN_RESPONSES`` or more."""
    found = []
    for key_id, rs in sorted(_by(records, "key_id").items()):
        baseline = baselines.get(key_id)
        past = _error_rate(baseline.rollup) if baseline is not None else None
        if past is None:
            continue
        answered = [r for r in rs if r.status is not None]
        failed = [r for r in answered if (r.status or 0) >= 400]
        if len(answered) < MIN_RESPONSES:
            continue
        rate = len(failed) / len(answered)
        if rate > factor * max(past, MIN_ERROR_RATE):
            found.append(
                Finding(
                    "key",
                    key_id,
                    f"key {key_id} had {rate:.1%} errors in {len(answered)} responses, "
                    f"over {factor:g}x its usual {past:.1%}",
                    {
                        "error_rate": rate,
                        "responses": len(answered),
                        "errors": len(failed),
                        "baseline_error_rate": past,
                        "factor": factor,
                    },
                    failed,
                )
            )
    return found


def _error_rate(rollup: Rollup) -> float | None:
    answered = sum(rollup.statuses.values())
    if answered == 0:
        return None
    return (rollup.statuses.get("4xx", 0) + rollup.statuses.get("5xx", 0)) / answered


__all__ = [
    "DEAD_KEY",
    "FAILED_AUTH",
    "IPV4_PREFIX",
    "IPV6_PREFIX",
    "MIN_ERROR_RATE",
    "MIN_RESPONSES",
    "Baseline",
    "brute_force",
    "bytes_spike",
    "error_spike",
    "first_seen",
    "ip_range",
    "revoked_use",
    "volume_spike",
]
