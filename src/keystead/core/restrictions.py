"""Per-key restrictions: where, how and when a key may be used.

Checked on the verify hot path, so everything is validated and compiled once in
``Restrictions.from_dict`` and ``check`` only reads. Pure: no I/O and no wall clock (``now``
is passed in); the only data loaded is the packaged GeoIP table (``keystead.core.geo``), on
the first check of a key with a ``countries`` rule, and the IANA time zone of a schedule.

JSON form (every part optional; ``None`` or ``{}`` means unrestricted)::

    {"ips": {"allow": ["10.0.0.0/8", "2001:db8::/32", "203.0.113.7"], "deny": []},
     "countries": {"allow": ["FR", "DE"], "deny": ["KP"]},
     "referrers": ["https://*.example.com/*", "https://app.example.org"],
     "user_agents": {"allow": ["MyApp/*"], "deny": ["*curl*"]},
     "methods": ["GET", "POST"],
     "paths": ["/v1/documents/*", "/v1/status"],
     "schedule": {"timezone": "Europe/Paris", "weekdays": ["mon", "tue", "wed"],
                  "hours": [{"start": "08:00", "end": "18:30"}]}}

Semantics
---------
General. A request passes when every present rule passes. Rules are checked in the order
ip, country, referrer, user_agent, method, path, schedule and ``check`` names the first
that fails. An empty list restricts nothing, and a rule whose lists are all empty is
dropped (it is neither stored nor listed by ``kinds()``). ``allow``/``deny`` pairs: deny
wins; a non-empty allow list must match. Lists hold at most 1000 entries, strings at most
512 characters; unknown fields and wrong types are rejected with the exact field named.

ips. IPv4 and IPv6 CIDR networks or single addresses. Host bits must be zero
(``10.0.0.1/8`` is rejected, with a hint). A client address written as IPv4-mapped IPv6
(``::ffff:1.2.3.4``) is the IPv4 address ``1.2.3.4``; IPv4-mapped networks in a rule are
stored as IPv4 networks. IPv6 networks match IPv6 clients only (``::/0`` is not "all").
A missing or unparseable client IP fails.

countries. ISO 3166-1 alpha-2 codes (case-insensitive on input, stored upper case; XK and
EU are accepted too). The client IP is resolved offline (GeoLite2 data shipped with
geoip2fast). A missing or unparseable client IP fails. A country that cannot be
determined (private or reserved address, address not in the data) is "unknown": it fails
when the allow list is non-empty and passes a deny-only rule.

referrers. The request's Referer (or, when the caller has none, Origin) must match one
pattern ``scheme://host[:port][/path]``. The scheme must be equal. The host is compared
case-insensitively, a trailing dot ignored; ``*`` is only allowed as the whole first label
and stands for one or more labels: ``https://*.example.com`` matches ``a.example.com``
and ``a.b.example.com`` but neither ``example.com`` nor ``example.com.evil.com``. The
port must be equal, the scheme's default port (80 for http/ws, 443 for https/wss) being
the same as no port. A pattern with no path, or the path ``/``, matches every path of
that origin; otherwise the path is matched case-sensitively, ``*`` standing for any run of
characters (``/`` included). The referrer's query and fragment are ignored. A referrer
with user info (``https://good.example.com@evil.com/``), a backslash in its authority, an
invalid host or port, or no ``scheme://`` (e.g. the ``null`` origin) matches nothing. A
missing referrer fails. Browsers send only the origin (``https://site.example/``)
cross-origin by default, so path patterns only see full paths same-origin.

user_agents. Globs, ``*`` any run of characters, ``?`` exactly one, compared
case-insensitively with the whole User-Agent. A missing User-Agent is matched as the empty
string: it fails a non-empty allow list (unless it holds ``*`` or ``""``), and
``{"deny": [""]}`` rejects requests without one.

methods. HTTP method tokens, stored upper case; the request method, upper-cased, must be
one of them. A missing method fails.

paths. Matched against the request path without its query string or fragment, as sent
(no percent-decoding), case-sensitively. A pattern starts with ``/``. ``*`` matches zero
or more characters within one segment (never ``/``). ``**`` must be a whole segment:
``/a/**/b`` matches ``/a/b``, ``/a/x/b``, ``/a/x/y/b``; a final ``/**`` matches the path
before it and everything below it (``/v1/docs/**`` matches ``/v1/docs``, ``/v1/docs/``
and ``/v1/docs/1/pages``). So ``/v1/docs/*`` matches ``/v1/docs/1`` and ``/v1/docs/`` but
neither ``/v1/docs`` nor ``/v1/docs/1/pages``. A trailing slash is significant:
``/v1/status`` does not match ``/v1/status/``. Paths that an application might
normalise into another path fail outright: ``.`` or ``..`` segments, ``//``, a backslash,
or ``%2E``, ``%2F``, ``%5C`` (any case). A missing path, or one not starting with ``/``,
fails.

schedule. ``timezone`` is an IANA name (default ``UTC``); ``weekdays`` are ``mon`` ...
``sun``; ``hours`` are ranges ``{"start": "HH:MM", "end": "HH:MM"}``, start inclusive, end
exclusive, ``24:00`` allowed as an end, start and end different. The rule is evaluated on
the local wall-clock time at ``now`` (so it follows daylight saving time: 08:00 stays
08:00 local). With weekdays only, those whole days pass; with hours only, those hours of
every day; with both, a range passes on the listed days. A range whose end is before its
start wraps midnight and belongs to the day it starts: with ``fri`` and ``22:00``-``06:00``,
Friday 23:00 and Saturday 02:00 pass, Friday 02:00 does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Protocol, cast, final

from keystead.core import _patterns as p
from keystead.core import _schedule as sched
from keystead.core.geo import COUNTRY_CODES, CountryResolver, default_resolver

MAX_ENTRIES = p.MAX_ENTRIES
MAX_PATTERN_LENGTH = p.MAX_PATTERN_LENGTH
CHECK_ORDER = ("ip", "country", "referrer", "user_agent", "method", "path", "schedule")
_JSON_KEYS = {
    "ip": "ips",
    "country": "countries",
    "referrer": "referrers",
    "user_agent": "user_agents",
    "method": "methods",
    "path": "paths",
    "schedule": "schedule",
}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z\-]+")


class RequestFacts(Protocol):
    """What ``check`` reads of a request (``keystead.core.models.VerifyContext`` fits)."""

    @property
    def ip(self) -> str | None: ...
    @property
    def referrer(self) -> str | None: ...
    @property
    def user_agent(self) -> str | None: ...
    @property
    def method(self) -> str | None: ...
    @property
    def path(self) -> str | None: ...


_Check = Callable[[RequestFacts, float, CountryResolver | None], bool]


def _country(code: str) -> str:
    upper = code.upper()
    if upper not in COUNTRY_CODES:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return upper


def _method(token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"{token!r} is not an HTTP method token")
    return token.upper()


def _path(pattern: str) -> str:
    p.check_path_pattern(pattern)
    return pattern


# -- Rules: (normal JSON form, check) ----------------------------------------------------------

_Rule = tuple[object, _Check] | None


def _ip_rule(value: object, field: str) -> _Rule:
    allow_text, deny_text = p.allow_deny(value, field)
    allow_nets = p.each(allow_text, f"{field}.allow", p.parse_network)
    deny_nets = p.each(deny_text, f"{field}.deny", p.parse_network)
    if not allow_nets and not deny_nets:
        return None
    allow = p.IPRanges(allow_nets) if allow_nets else None
    deny = p.IPRanges(deny_nets) if deny_nets else None
    ip_key = p.ip_key

    def check(facts: RequestFacts, now: float, resolver: CountryResolver | None) -> bool:
        ip = facts.ip
        if ip is None:
            return False
        key = ip_key(ip)
        if key < 0 or (deny is not None and key in deny):
            return False
        return allow is None or key in allow

    normal = p.pair([p.network_text(n) for n in allow_nets], [p.network_text(n) for n in deny_nets])
    return normal, check


def _country_rule(value: object, field: str) -> _Rule:
    allow_text, deny_text = p.allow_deny(value, field)
    allow = p.each(allow_text, f"{field}.allow", _country)
    deny = p.each(deny_text, f"{field}.deny", _country)
    if not allow and not deny:
        return None
    allowed, denied = frozenset(allow), frozenset(deny)

    def check(facts: RequestFacts, now: float, resolver: CountryResolver | None) -> bool:
        key = -1 if facts.ip is None else p.ip_key(facts.ip)
        if key < 0:
            return False
        code = (resolver or default_resolver()).country_of(p.key_text(key))
        if code is not None and code in denied:
            return False
        return not allowed or code in allowed

    return p.pair(allow, deny), check


def _referrer_rule(value: object, field: str) -> _Rule:
    parsed = p.each(p.strings(value, field), field, p.parse_referrer_pattern)
    if not parsed:
        return None
    regex = re.compile("|".join(f"(?:{r})" for _, r in parsed), re.DOTALL)

    def check(facts: RequestFacts, now: float, resolver: CountryResolver | None) -> bool:
        referrer = facts.referrer
        canonical = None if referrer is None else p.canonical_referrer(referrer)
        return canonical is not None and regex.fullmatch(canonical) is not None

    return [normal for normal, _ in parsed], check


def _user_agent_rule(value: object, field: str) -> _Rule:
    allow, deny = p.allow_deny(value, field)
    if not allow and not deny:
        return None
    allowed = p.compile_globs(allow, ignore_case=True)
    denied = p.compile_globs(deny, ignore_case=True)

    def check(facts: RequestFacts, now: float, resolver: CountryResolver | None) -> bool:
        agent = facts.user_agent or ""
        if denied is not None and denied.fullmatch(agent) is not None:
            return False
        return allowed is None or allowed.fullmatch(agent) is not None

    return p.pair(allow, deny), check


def _method_rule(value: object, field: str) -> _Rule:
    methods = p.each(p.strings(value, field), field, _method)
    if not methods:
        return None
    allowed = frozenset(methods)

    def check(facts: RequestFacts, now: float, resolver: CountryResolver | None) -> bool:
        method = facts.method
        return method is not None and method.upper() in allowed

    return methods, check


def _path_rule(value: object, field: str) -> _Rule:
    patterns = p.each(p.strings(value, field), field, _path)
    if not patterns:
        return None
    exact, regex = p.compile_paths(patterns)
    ambiguous = p.AMBIGUOUS_PATH.search

    def check(facts: RequestFacts, now: float, resolver: CountryResolver | None) -> bool:
        path = facts.path
        if path is None:
            return False
        path = path.partition("?")[0].partition("#")[0]
        if not path.startswith("/") or ambiguous(path):
            return False
        return path in exact or (regex is not None and regex.fullmatch(path) is not None)

    return patterns, check


def _schedule_rule(value: object, field: str) -> _Rule:
    data = p.mapping(value, field, ("timezone", "weekdays", "hours"))
    zone = sched.parse_timezone(data.get("timezone", "UTC"), f"{field}.timezone")
    names = p.strings(data.get("weekdays", []), f"{field}.weekdays")
    days = sorted(set(p.each(names, f"{field}.weekdays", sched.parse_weekday)))
    hours = sched.parse_hours(data.get("hours", []), f"{field}.hours")
    if not days and not hours:
        return None
    within = sched.window(zone, frozenset(days or range(7)), tuple(hours))

    def check(facts: RequestFacts, now: float, resolver: CountryResolver | None) -> bool:
        return within(now)

    normal: dict[str, object] = {"timezone": zone.key}
    if days:
        normal["weekdays"] = [p.WEEKDAYS[d] for d in days]
    if hours:
        normal["hours"] = [
            {"start": sched.clock_text(s), "end": sched.clock_text(e)} for s, e in hours
        ]
    return normal, check


_BUILDERS: dict[str, Callable[[object, str], _Rule]] = {
    "ip": _ip_rule,
    "country": _country_rule,
    "referrer": _referrer_rule,
    "user_agent": _user_agent_rule,
    "method": _method_rule,
    "path": _path_rule,
    "schedule": _schedule_rule,
}


@final
class Restrictions:
    """Validated, compiled restrictions of one key. Build with ``from_dict``."""

    __slots__ = ("_checks", "_data")

    def __init__(self, data: dict[str, object], checks: tuple[tuple[str, _Check], ...]) -> None:
        self._data = data
        self._checks = checks

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> Restrictions | None:
        """Validate and compile; None when nothing is restricted. Raises ``ValidationError``."""
        if data is None:
            return None
        source = p.mapping(data, "restrictions", tuple(_JSON_KEYS.values()))
        normal: dict[str, object] = {}
        checks: list[tuple[str, _Check]] = []
        for kind in CHECK_ORDER:
            key = _JSON_KEYS[kind]
            if key in source:
                rule = _BUILDERS[kind](source[key], f"restrictions.{key}")
                if rule is not None:
                    normal[key], check = rule
                    checks.append((kind, check))
        return cls(normal, tuple(checks)) if checks else None

    def to_dict(self) -> dict[str, object]:
        """The normalised JSON form; ``from_dict(r.to_dict())`` gives the same restrictions."""
        return cast(dict[str, object], _copy(self._data))

    def kinds(self) -> tuple[str, ...]:
        """Present restriction kinds, named as ``check`` names them, in check order."""
        return tuple(kind for kind, _ in self._checks)

    def check(
        self, facts: RequestFacts, now: float, resolver: CountryResolver | None = None
    ) -> str | None:
        """None if the request passes, else the kind of the first failing restriction.

        ``now`` is seconds since the epoch; ``resolver`` defaults to the packaged GeoIP data.
        """
        for kind, passes in self._checks:
            if not passes(facts, now, resolver):
                return kind
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Restrictions):
            return NotImplemented
        return self._data == other._data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Restrictions({self._data!r})"


def _copy(value: object) -> object:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


__all__ = [
    "CHECK_ORDER",
    "MAX_ENTRIES",
    "MAX_PATTERN_LENGTH",
    "CountryResolver",
    "RequestFacts",
    "Restrictions",
]
