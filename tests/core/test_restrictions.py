"""Per-key restrictions: each rule's allow/deny/missing cases, attacks, validation, order."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.core import _patterns
from keystead.core.geo import COUNTRY_CODES, GeoIPCountryResolver, default_resolver
from keystead.core.restrictions import CHECK_ORDER, Restrictions
from keystead.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Facts:
    ip: str | None = None
    referrer: str | None = None
    user_agent: str | None = None
    method: str | None = None
    path: str | None = None


class FakeResolver:
    def __init__(self, answers: Mapping[str, str | None]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def country_of(self, ip: str) -> str | None:
        self.asked.append(ip)
        return self.answers.get(ip)


NOW = 1_750_000_000.0


def build(data: Mapping[str, object]) -> Restrictions:
    r = Restrictions.from_dict(data)
    assert r is not None
    return r


def at(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> float:
    """Epoch seconds of a local wall-clock time (first occurrence when ambiguous)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp()


# --- general ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"ips": {}},
        {"ips": {"allow": [], "deny": []}},
        {"methods": [], "paths": [], "referrers": []},
        {"schedule": {"timezone": "Europe/Paris"}},
    ],
)
def test_nothing_restricted_is_none(data: Mapping[str, object] | None) -> None:
    assert Restrictions.from_dict(data) is None


def test_kinds_follow_check_order_and_skip_empty_rules() -> None:
    r = build({"schedule": {"weekdays": ["mon"]}, "methods": ["GET"], "ips": {"deny": ["::1"]}})
    assert r.kinds() == ("ip", "method", "schedule")
    assert build({"methods": ["GET"], "paths": []}).kinds() == ("method",)


def test_check_returns_first_failing_restriction_in_documented_order() -> None:
    assert CHECK_ORDER == ("ip", "country", "referrer", "user_agent", "method", "path", "schedule")
    r = build(
        {
            "schedule": {"timezone": "UTC", "hours": [{"start": "09:00", "end": "17:00"}]},
            "paths": ["/v1/*"],
            "methods": ["GET"],
            "user_agents": {"allow": ["MyApp/*"]},
            "referrers": ["https://app.example.org"],
            "countries": {"allow": ["FR"]},
            "ips": {"allow": ["203.0.113.0/24"]},
        }
    )
    resolver = FakeResolver({"203.0.113.9": "FR", "203.0.113.10": "DE"})
    noon = at("UTC", 2025, 6, 16, 12, 0)
    steps = [
        ({}, "ip"),
        ({"ip": "203.0.113.10"}, "country"),
        ({"ip": "203.0.113.9"}, "referrer"),
        ({"referrer": "https://app.example.org/page"}, "user_agent"),
        ({"user_agent": "MyApp/2.0"}, "method"),
        ({"method": "GET"}, "path"),
        ({"path": "/v1/items"}, None),
    ]
    facts = dict.fromkeys(["ip", "referrer", "user_agent", "method", "path"], "nope")
    for fix, failure in steps:  # fix one more part at a time: the failure moves along
        facts.update(fix)
        assert r.check(Facts(**facts), noon, resolver) == failure
    assert r.check(Facts(**facts), noon - 6 * 3600, resolver) == "schedule"
    assert r.check(Facts(), noon - 6 * 3600, resolver) == "ip"


def test_equality_and_repr_use_the_normal_form() -> None:
    a = build({"methods": ["get"], "ips": {"allow": ["10.0.0.1/32"]}})
    b = build({"ips": {"allow": ["10.0.0.1"]}, "methods": ["GET"]})
    assert a == b
    assert "10.0.0.1" in repr(a)
    assert a != build({"methods": ["POST"]})


# --- ips ----------------------------------------------------------------------------------------

IPS = build({"ips": {"allow": ["10.0.0.0/8", "2001:db8::/32", "203.0.113.7"]}})


@pytest.mark.parametrize(
    ("ip", "failure"),
    [
        ("10.1.2.3", None),
        ("10.255.255.255", None),
        ("11.0.0.0", "ip"),
        ("203.0.113.7", None),
        ("203.0.113.8", "ip"),
        ("2001:db8::1", None),
        ("2001:DB8:ffff::1", None),
        ("2001:db9::1", "ip"),
        ("::ffff:10.0.0.1", None),  # IPv4-mapped IPv6 is the IPv4 address
        ("::ffff:11.0.0.1", "ip"),
        ("::a00:1", "ip"),  # IPv4-compatible (not mapped) is plain IPv6
        (None, "ip"),
        ("", "ip"),
        ("not an ip", "ip"),
        ("10.0.0.1/32", "ip"),
        ("010.0.0.1", "ip"),
        ("10.0.0.1 ", "ip"),
        ("1" * 100, "ip"),
    ],
)
def test_ip_allow(ip: str | None, failure: str | None) -> None:
    assert IPS.check(Facts(ip=ip), NOW) == failure


def test_ip_deny_wins_over_allow() -> None:
    r = build({"ips": {"allow": ["10.0.0.0/8"], "deny": ["10.9.0.0/16", "::ffff:10.8.0.1"]}})
    assert r.check(Facts(ip="10.1.0.1"), NOW) is None
    assert r.check(Facts(ip="10.9.3.4"), NOW) == "ip"
    assert r.check(Facts(ip="10.8.0.1"), NOW) == "ip"
    assert r.check(Facts(ip="::ffff:10.9.0.1"), NOW) == "ip"


def test_ip_deny_only_passes_others_but_not_a_missing_ip() -> None:
    r = build({"ips": {"deny": ["192.0.2.0/24", "2001:db8::/32"]}})
    assert r.check(Facts(ip="198.51.100.1"), NOW) is None
    assert r.check(Facts(ip="2001:db9::1"), NOW) is None
    assert r.check(Facts(ip="192.0.2.200"), NOW) == "ip"
    assert r.check(Facts(ip=None), NOW) == "ip"


def test_ipv6_networks_do_not_cover_ipv4_clients() -> None:
    r = build({"ips": {"allow": ["::/0"]}})
    assert r.check(Facts(ip="2a00::1"), NOW) is None
    assert r.check(Facts(ip="192.0.2.1"), NOW) == "ip"
    assert r.check(Facts(ip="::ffff:192.0.2.1"), NOW) == "ip"


def test_ip_rules_are_normalised() -> None:
    r = build(
        {
            "ips": {
                "allow": ["2001:DB8:0::/32", "203.0.113.7/32", "::ffff:10.0.0.0/104", "::1/128"],
                "deny": ["10.1.0.0/16"],
            }
        }
    )
    assert r.to_dict() == {
        "ips": {
            "allow": ["2001:db8::/32", "203.0.113.7", "10.0.0.0/8", "::1"],
            "deny": ["10.1.0.0/16"],
        }
    }
    assert r.check(Facts(ip="10.2.0.1"), NOW) is None


def test_parsed_client_ips_are_cached_within_a_bound() -> None:
    r = build({"ips": {"allow": ["10.0.0.0/8"]}})
    for i in range(5000):
        r.check(Facts(ip=str(ipaddress.IPv4Address(0x0A000000 + i))), NOW)
    assert 0 < len(_patterns._IP_CACHE) <= 4096


# --- countries ----------------------------------------------------------------------------------


def test_country_allow_and_deny_with_an_injected_resolver() -> None:
    resolver = FakeResolver({"192.0.2.1": "FR", "192.0.2.2": "KP", "2001:db8::1": "DE"})
    r = build({"countries": {"allow": ["fr", "DE"], "deny": ["KP"]}})
    assert r.to_dict() == {"countries": {"allow": ["FR", "DE"], "deny": ["KP"]}}
    assert r.check(Facts(ip="192.0.2.1"), NOW, resolver) is None
    assert r.check(Facts(ip="::ffff:192.0.2.1"), NOW, resolver) is None
    assert r.check(Facts(ip="2001:db8::1"), NOW, resolver) is None
    assert r.check(Facts(ip="192.0.2.2"), NOW, resolver) == "country"
    # The resolver is given the canonical text, IPv4-mapped addresses folded to IPv4.
    assert resolver.asked[:2] == ["192.0.2.1", "192.0.2.1"]


def test_unknown_country_fails_an_allow_list_but_passes_a_deny_list() -> None:
    resolver = FakeResolver({})  # every address unknown
    allow = build({"countries": {"allow": ["FR"]}})
    deny = build({"countries": {"deny": ["KP"]}})
    both = build({"countries": {"allow": ["FR"], "deny": ["KP"]}})
    assert allow.check(Facts(ip="10.0.0.1"), NOW, resolver) == "country"
    assert deny.check(Facts(ip="10.0.0.1"), NOW, resolver) is None
    assert both.check(Facts(ip="10.0.0.1"), NOW, resolver) == "country"


@pytest.mark.parametrize("ip", [None, "", "garbage"])
def test_country_rule_fails_without_a_usable_ip(ip: str | None) -> None:
    resolver = FakeResolver({})
    assert build({"countries": {"deny": ["KP"]}}).check(Facts(ip=ip), NOW, resolver) == "country"
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("81.2.69.142", "GB"),
        ("212.27.48.10", "FR"),
        ("193.0.6.139", "NL"),
        ("2001:4860:4860::8888", "US"),
        ("2a00:1450:4001::1", "DE"),
        ("10.0.0.1", None),
        ("127.0.0.1", None),
        ("fe80::1", None),
    ],
)
def test_real_geoip_lookup(ip: str, country: str | None) -> None:
    assert GeoIPCountryResolver().country_of(ip) == country


def test_default_resolver_is_used_when_none_is_given() -> None:
    r = build({"countries": {"allow": ["US"]}})
    assert r.check(Facts(ip="8.8.8.8"), NOW) is None
    assert r.check(Facts(ip="::ffff:8.8.8.8"), NOW) is None  # geoip2fast alone says "--"
    assert r.check(Facts(ip="81.2.69.142"), NOW) == "country"
    assert r.check(Facts(ip="10.0.0.1"), NOW) == "country"
    assert default_resolver().loaded


def test_loading_geoip_leaves_the_environment_alone() -> None:
    before = {k: os.environ.get(k) for k in ("PYTHONWARNINGS", "PYTHONIOENCODING")}
    GeoIPCountryResolver().load()
    assert {k: os.environ.get(k) for k in before} == before


# --- referrers ----------------------------------------------------------------------------------

REFERRERS = build({"referrers": ["https://*.example.com/*", "https://app.example.org"]})


@pytest.mark.parametrize(
    ("referrer", "failure"),
    [
        ("https://a.example.com/x", None),
        ("https://a.b.example.com/x/y?q=1#f", None),
        ("https://A.Example.COM/", None),
        ("https://a.example.com.:443/x", None),
        ("https://a.example.com", None),  # an Origin: the path is "/"
        ("https://app.example.org", None),
        ("https://app.example.org/any/path?x", None),
        ("https://app.example.org:443/", None),
        ("HTTPS://APP.EXAMPLE.ORG/", None),
        ("https://example.com/", "referrer"),  # '*.' needs at least one label
        ("https://evil.com/?.example.com/", "referrer"),
        ("https://evil.com/.example.com/", "referrer"),
        ("https://example.com.evil.com/", "referrer"),
        ("https://aexample.com/", "referrer"),
        ("https://good.example.com@evil.com/", "referrer"),  # userinfo
        ("https://user:pw@app.example.org/", "referrer"),
        ("https://evil.com\\@app.example.org/", "referrer"),
        ("https://evil.com\\.example.com/", "referrer"),
        ("http://app.example.org/", "referrer"),  # scheme
        ("wss://app.example.org/", "referrer"),
        ("https://app.example.org:8443/", "referrer"),  # port
        ("https://app.example.org:0443/", None),
        ("https://app.example.org:99999/", "referrer"),
        ("https://app.example.org.evil.com/", "referrer"),
        ("https://app.example.org%2eevil.com/", "referrer"),
        ("//app.example.org/", "referrer"),
        ("app.example.org", "referrer"),
        ("null", "referrer"),
        ("", "referrer"),
        (None, "referrer"),
    ],
)
def test_referrer_patterns(referrer: str | None, failure: str | None) -> None:
    assert REFERRERS.check(Facts(referrer=referrer), NOW) == failure


def test_referrer_path_ports_and_ip_literals() -> None:
    r = build(
        {
            "referrers": [
                "https://docs.example.net/guide/*/edit",
                "http://localhost:8080",
                "http://[::1]:3000/",
                "http://192.0.2.10",
            ]
        }
    )
    ok = [
        "https://docs.example.net/guide/intro/edit",
        "https://docs.example.net/guide/a/b/edit",  # '*' in a referrer path crosses '/'
        "http://localhost:8080/app",
        "http://[0:0::1]:3000/x",
        "http://192.0.2.10:80/",
    ]
    bad = [
        "https://docs.example.net/guide/intro/edit/more",
        "https://docs.example.net/Guide/intro/edit",  # paths are case-sensitive
        "https://docs.example.net",  # only the origin: "/" does not match the path
        "http://localhost/app",
        "http://localhost:8081/app",
        "http://[::2]:3000/",
        "http://192.0.2.10:8080/",
    ]
    assert [r.check(Facts(referrer=x), NOW) for x in ok] == [None] * len(ok)
    assert [r.check(Facts(referrer=x), NOW) for x in bad] == ["referrer"] * len(bad)


def test_referrer_patterns_are_normalised() -> None:
    r = build(
        {
            "referrers": [
                "HTTPS://App.Example.ORG:443/",
                "https://*.Example.com/*",
                "http://x.example.com:8080/a/",
                "http://[0::1]",
            ]
        }
    )
    assert r.to_dict() == {
        "referrers": [
            "https://app.example.org",
            "https://*.example.com/*",
            "http://x.example.com:8080/a/",
            "http://[::1]",
        ]
    }


# --- user agents --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "failure"),
    [
        ("MyApp/1.0", None),
        ("myapp/2.0 (Linux)", None),
        ("MyApp/", None),
        ("OtherApp/1.0", "user_agent"),
        ("MyApp/1.0 curl/8.0", "user_agent"),  # deny wins
        ("MyApp/1.0 CURL", "user_agent"),  # case-insensitive
        ("curl/8.0", "user_agent"),
        ("", "user_agent"),
        (None, "user_agent"),
    ],
)
def test_user_agent_allow_and_deny(agent: str | None, failure: str | None) -> None:
    r = build({"user_agents": {"allow": ["MyApp/*"], "deny": ["*curl*"]}})
    assert r.check(Facts(user_agent=agent), NOW) == failure


def test_user_agent_question_mark_and_missing_agent() -> None:
    r = build({"user_agents": {"allow": ["Bot/?.?"]}})
    assert r.check(Facts(user_agent="bot/1.2"), NOW) is None
    assert r.check(Facts(user_agent="Bot/1.23"), NOW) == "user_agent"
    deny_only = build({"user_agents": {"deny": ["*python*"]}})
    assert deny_only.check(Facts(user_agent=None), NOW) is None
    deny_missing = build({"user_agents": {"deny": [""]}})
    assert deny_missing.check(Facts(user_agent=None), NOW) == "user_agent"
    assert deny_missing.check(Facts(user_agent="x"), NOW) is None


def glob_reference(pattern: str, text: str) -> bool:
    """``*`` any run, ``?`` one character, by dynamic programming."""
    n = len(text)
    row = [True] + [False] * n
    for c in pattern:
        if c == "*":
            for i in range(1, n + 1):
                row[i] = row[i] or row[i - 1]
        else:
            row = [False] + [row[i] and (c == "?" or c == text[i]) for i in range(n)]
    return row[n]


@settings(max_examples=300, deadline=None)
@given(st.text("ab*?", max_size=8), st.text("abAB", max_size=10))
def test_user_agent_globs_agree_with_a_reference_matcher(pattern: str, agent: str) -> None:
    r = build({"user_agents": {"allow": [pattern]}})
    expected = glob_reference(pattern.lower(), agent.lower())
    assert (r.check(Facts(user_agent=agent), NOW) is None) == expected


def test_globs_stay_fast_on_adversarial_input() -> None:
    r = build({"user_agents": {"allow": ["*a*a*a*a*a*a*a*a*a*a*b"]}})
    assert r.check(Facts(user_agent="a" * 5000), NOW) == "user_agent"  # would take years


# --- methods ------------------------------------------------------------------------------------


def test_methods() -> None:
    r = build({"methods": ["get", "POST"]})
    assert r.to_dict() == {"methods": ["GET", "POST"]}
    assert r.check(Facts(method="GET"), NOW) is None
    assert r.check(Facts(method="post"), NOW) is None
    assert r.check(Facts(method="DELETE"), NOW) == "method"
    assert r.check(Facts(method=None), NOW) == "method"
    assert r.check(Facts(method=""), NOW) == "method"


# --- paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("/v1/status", ["/v1/status", "/v1/status?verbose=1"], ["/v1/status/", "/v1/Status"]),
        (
            "/v1/documents/*",
            ["/v1/documents/42", "/v1/documents/", "/v1/documents/a-b.json?x=/y"],
            ["/v1/documents", "/v1/documents/42/pages", "/v1/documentsx/1"],
        ),
        (
            "/v1/documents/**",
            ["/v1/documents", "/v1/documents/", "/v1/documents/42/pages/3"],
            ["/v1/documentsx", "/v1/other/42"],
        ),
        ("/a/**/b", ["/a/b", "/a/x/b", "/a/x/y/b"], ["/a/b/c", "/a/xb", "/ab", "/a/x/yb"]),
        ("/a/*/c/*", ["/a/b/c/d", "/a/x/c/"], ["/a/b/c", "/a/b/x/c/d"]),
        ("/files/*.json", ["/files/a.json", "/files/.json"], ["/files/a.jsonx", "/files/a/b.json"]),
        ("/**", ["/", "/anything/at/all"], []),
        ("/**/*.png", ["/a.png", "/x/y/a.png"], ["/x/y/a.png/z", "/x/y/a.jpg"]),
        ("/", ["/"], ["/a"]),
    ],
)
def test_path_globs(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    r = build({"paths": [pattern]})
    assert [r.check(Facts(path=p), NOW) for p in matching] == [None] * len(matching)
    assert [r.check(Facts(path=p), NOW) for p in not_matching] == ["path"] * len(not_matching)


@pytest.mark.parametrize(
    "path",
    [
        None,
        "",
        "v1/documents/1",
        "/v1/documents/../admin",
        "/v1/documents/./1",
        "/v1/documents/%2e%2e/admin",
        "/v1/documents/1%2F2",
        "/v1/documents/1%5c2",
        "/v1/documents/1\\..\\admin",
        "/v1//documents/1",
        "https://host/v1/documents/1",
    ],
)
def test_ambiguous_or_missing_paths_fail(path: str | None) -> None:
    r = build({"paths": ["/v1/**"]})
    assert r.check(Facts(path=path), NOW) == "path"


def path_reference(pattern: str, path: str) -> bool:
    def segment(p: str, s: str) -> bool:
        return glob_reference(p, s)  # no '?' is generated for paths

    def match(ps: list[str], ss: list[str]) -> bool:
        if not ps:
            return not ss
        if ps[0] == "**":
            return any(match(ps[1:], ss[i:]) for i in range(len(ss) + 1))
        return bool(ss) and segment(ps[0], ss[0]) and match(ps[1:], ss[1:])

    return match(pattern.split("/")[1:], path.split("/")[1:])


_PATTERN_SEGMENTS = st.sampled_from(["a", "b", "*", "a*", "*b", "a*b", "*a*", "**"])
_PATH_SEGMENTS = st.sampled_from(["a", "b", "ab", "ba", "aab", "bab", "x"])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_PATTERN_SEGMENTS, min_size=1, max_size=5),
    st.booleans(),
    st.lists(_PATH_SEGMENTS, max_size=6),
    st.booleans(),
)
def test_path_globs_agree_with_a_reference_matcher(
    pattern_segments: list[str], pattern_slash: bool, path_segments: list[str], path_slash: bool
) -> None:
    pattern = "/" + "/".join(pattern_segments) + ("/" if pattern_slash else "")
    path = "/" + "/".join(path_segments) + ("/" if path_slash and path_segments else "")
    r = build({"paths": [pattern]})
    assert (r.check(Facts(path=path), NOW) is None) == path_reference(pattern, path)


# --- schedule -----------------------------------------------------------------------------------

OFFICE = build(
    {
        "schedule": {
            "timezone": "Europe/Paris",
            "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "hours": [{"start": "08:00", "end": "18:30"}],
        }
    }
)


def test_schedule_uses_local_wall_clock_across_a_dst_change() -> None:
    # Paris moved from UTC+1 to UTC+2 on Sunday 2025-03-30.
    friday_before = datetime(2025, 3, 28, 7, 30, tzinfo=UTC).timestamp()  # 08:30 CET
    monday_after = datetime(2025, 3, 31, 7, 30, tzinfo=UTC).timestamp()  # 09:30 CEST
    assert OFFICE.check(Facts(), friday_before) is None
    assert OFFICE.check(Facts(), monday_after) is None
    # 06:30 UTC is 07:30 before the change (closed) and 08:30 after it (open).
    assert OFFICE.check(Facts(), friday_before - 3600) == "schedule"
    assert OFFICE.check(Facts(), monday_after - 3600) is None
    # 17:00 UTC is 18:00 before (open) and 19:00 after (closed).
    assert OFFICE.check(Facts(), friday_before + 9.5 * 3600) is None
    assert OFFICE.check(Facts(), monday_after + 9.5 * 3600) == "schedule"


def test_schedule_start_inclusive_end_exclusive_and_weekdays() -> None:
    assert OFFICE.check(Facts(), at("Europe/Paris", 2025, 6, 16, 8, 0)) is None
    assert OFFICE.check(Facts(), at("Europe/Paris", 2025, 6, 16, 7, 59) + 59.9) == "schedule"
    assert OFFICE.check(Facts(), at("Europe/Paris", 2025, 6, 16, 18, 29) + 59.9) is None
    assert OFFICE.check(Facts(), at("Europe/Paris", 2025, 6, 16, 18, 30)) == "schedule"
    assert OFFICE.check(Facts(), at("Europe/Paris", 2025, 6, 14, 12, 0)) == "schedule"  # Sat


def test_schedule_range_wrapping_midnight_belongs_to_its_start_day() -> None:
    r = build(
        {
            "schedule": {
                "timezone": "America/New_York",
                "weekdays": ["fri"],
                "hours": [{"start": "22:00", "end": "06:00"}],
            }
        }
    )
    zone = "America/New_York"  # 2025-06-13 is a Friday
    assert r.check(Facts(), at(zone, 2025, 6, 13, 23, 0)) is None
    assert r.check(Facts(), at(zone, 2025, 6, 14, 2, 0)) is None  # Saturday morning
    assert r.check(Facts(), at(zone, 2025, 6, 14, 6, 0)) == "schedule"
    assert r.check(Facts(), at(zone, 2025, 6, 13, 2, 0)) == "schedule"  # Friday morning
    assert r.check(Facts(), at(zone, 2025, 6, 13, 21, 59)) == "schedule"
    assert r.check(Facts(), at(zone, 2025, 6, 14, 23, 0)) == "schedule"  # Saturday night


def test_schedule_wrapping_range_across_the_autumn_dst_change() -> None:
    r = build(
        {"schedule": {"timezone": "Europe/Paris", "hours": [{"start": "22:00", "end": "02:30"}]}}
    )
    # 2025-10-26 02:00-03:00 CEST happens once, then 02:00-03:00 CET again.
    first_0215 = datetime(2025, 10, 26, 0, 15, tzinfo=UTC).timestamp()  # 02:15 CEST
    second_0215 = first_0215 + 3600  # 02:15 CET
    assert r.check(Facts(), first_0215) is None
    assert r.check(Facts(), second_0215) is None
    assert r.check(Facts(), second_0215 + 1800) == "schedule"  # 02:45 CET


def test_schedule_weekdays_only_hours_only_and_bad_now() -> None:
    weekend = build({"schedule": {"weekdays": ["SAT", "sun"]}})
    assert weekend.check(Facts(), at("UTC", 2025, 6, 15, 23, 59)) is None  # Sunday, UTC default
    assert weekend.check(Facts(), at("UTC", 2025, 6, 16, 0, 0)) == "schedule"
    night = build({"schedule": {"hours": [{"start": "00:00", "end": "06:00"}]}})
    assert night.check(Facts(), at("UTC", 2025, 6, 16, 5, 59)) is None
    assert night.check(Facts(), at("UTC", 2025, 6, 16, 6, 0)) == "schedule"
    whole_day = build(
        {"schedule": {"weekdays": ["mon"], "hours": [{"start": "00:00", "end": "24:00"}]}}
    )
    assert whole_day.check(Facts(), at("UTC", 2025, 6, 16, 23, 59)) is None
    for bad in (float("nan"), float("inf"), 1e300):
        assert night.check(Facts(), bad) == "schedule"


def test_schedule_is_normalised() -> None:
    r = build(
        {
            "schedule": {
                "weekdays": ["fri", "MON", "fri"],
                "hours": [{"end": "24:00", "start": "22:00"}],
            }
        }
    )
    assert r.to_dict() == {
        "schedule": {
            "timezone": "UTC",
            "weekdays": ["mon", "fri"],
            "hours": [{"start": "22:00", "end": "24:00"}],
        }
    }


# --- validation ---------------------------------------------------------------------------------


def hours(*ranges: dict[str, str]) -> dict[str, object]:
    return {"schedule": {"hours": list(ranges)}}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "restrictions"),
        ({"ip": {}}, "restrictions.ip"),
        ({"ips": ["10.0.0.0/8"]}, "restrictions.ips"),
        ({"ips": {"allowed": []}}, "restrictions.ips.allowed"),
        ({"ips": {"allow": "10.0.0.0/8"}}, "restrictions.ips.allow"),
        ({"ips": {"allow": ["10.0.0.0/8", "1.2.3.4", "10.0.0.0/33"]}}, "restrictions.ips.allow[2]"),
        ({"ips": {"deny": ["10.0.0.1/8"]}}, "restrictions.ips.deny[0]"),
        ({"ips": {"deny": ["10.0.0.0/8", 7]}}, "restrictions.ips.deny[1]"),
        ({"ips": {"allow": ["10.0.0.0/8"] * 1001}}, "restrictions.ips.allow"),
        ({"countries": {"allow": ["FR", "FRA"]}}, "restrictions.countries.allow[1]"),
        ({"countries": {"deny": ["ZZ"]}}, "restrictions.countries.deny[0]"),
        ({"referrers": ["https://a.example.com", "example.com"]}, "restrictions.referrers[1]"),
        ({"referrers": ["https://a*.example.com"]}, "restrictions.referrers[0]"),
        ({"referrers": ["https://*"]}, "restrictions.referrers[0]"),
        ({"referrers": ["https://example.*"]}, "restrictions.referrers[0]"),
        ({"referrers": ["https://u@example.com"]}, "restrictions.referrers[0]"),
        ({"referrers": ["https://example.com/?q=1"]}, "restrictions.referrers[0]"),
        ({"referrers": ["https://example.com:0"]}, "restrictions.referrers[0]"),
        ({"referrers": ["https://" + "a" * 520]}, "restrictions.referrers[0]"),
        ({"user_agents": {"allow": ["x" * 513]}}, "restrictions.user_agents.allow[0]"),
        ({"user_agents": {"deny": [None]}}, "restrictions.user_agents.deny[0]"),
        ({"methods": ["GET", "BAD METHOD"]}, "restrictions.methods[1]"),
        ({"methods": "GET"}, "restrictions.methods"),
        ({"paths": ["v1/x"]}, "restrictions.paths[0]"),
        ({"paths": ["/ok", "/v1/a**"]}, "restrictions.paths[1]"),
        ({"paths": ["/v1/../x"]}, "restrictions.paths[0]"),
        ({"paths": ["/v1?x=1"]}, "restrictions.paths[0]"),
        ({"schedule": []}, "restrictions.schedule"),
        ({"schedule": {"tz": "UTC"}}, "restrictions.schedule.tz"),
        ({"schedule": {"timezone": "Mars/Olympus"}}, "restrictions.schedule.timezone"),
        ({"schedule": {"timezone": "../../etc/passwd"}}, "restrictions.schedule.timezone"),
        ({"schedule": {"timezone": "localtime"}}, "restrictions.schedule.timezone"),
        ({"schedule": {"timezone": 1}}, "restrictions.schedule.timezone"),
        ({"schedule": {"weekdays": ["mon", "funday"]}}, "restrictions.schedule.weekdays[1]"),
        ({"schedule": {"hours": {"start": "08:00"}}}, "restrictions.schedule.hours"),
        (hours({"start": "8:00", "end": "09:00"}), "restrictions.schedule.hours[0].start"),
        (hours({"start": "24:00", "end": "09:00"}), "restrictions.schedule.hours[0].start"),
        (hours({"start": "08:00", "end": "25:00"}), "restrictions.schedule.hours[0].end"),
        (hours({"start": "08:00", "end": "12:60"}), "restrictions.schedule.hours[0].end"),
        (hours({"start": "08:00"}), "restrictions.schedule.hours[0].end"),
        (hours({"start": "08:00", "end": "08:00"}), "restrictions.schedule.hours[0]"),
        (hours({"start": "08:00", "end": "09:00", "tz": "x"}), "restrictions.schedule.hours[0].tz"),
    ],
)
def test_validation_errors_name_the_field(data: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Restrictions.from_dict(data)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.detail


def test_host_bits_error_suggests_the_network() -> None:
    with pytest.raises(ValidationError, match=r"10\.0\.0\.0/8"):
        Restrictions.from_dict({"ips": {"allow": ["10.0.0.1/8"]}})


def test_limits_are_inclusive() -> None:
    r = build({"ips": {"allow": [f"10.{i // 256}.{i % 256}.0/24" for i in range(1000)]}})
    assert r.check(Facts(ip="10.3.231.9"), NOW) is None
    assert r.check(Facts(ip="10.3.232.9"), NOW) == "ip"
    assert build({"user_agents": {"allow": ["x" * 512]}}).kinds() == ("user_agent",)


# --- round trip ---------------------------------------------------------------------------------


@st.composite
def networks(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["v4", "v6", "mapped"]))
    if kind == "mapped":  # IPv4-mapped IPv6, stored as IPv4
        v4 = draw(st.ip_addresses(v=4))
        return str(ipaddress.ip_network(f"::ffff:{v4}/{draw(st.integers(96, 128))}", strict=False))
    address = draw(st.ip_addresses(v=4) if kind == "v4" else st.ip_addresses(v=6))
    prefix = draw(st.integers(0, 32 if kind == "v4" else 128))
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def cased(values: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(values).flatmap(lambda v: st.sampled_from([v, v.lower(), v.upper()]))


_HOURS = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 24), st.integers(0, 59))


def hour_range(t: tuple[int, int, int, int]) -> dict[str, str]:
    end = "24:00" if t[2] == 24 else f"{t[2]:02d}:{t[3]:02d}"
    return {"start": f"{t[0]:02d}:{t[1]:02d}", "end": end}


def allow_deny(values: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, list[str]]]:
    lists = st.lists(values, max_size=4)
    return st.fixed_dictionaries({}, optional={"allow": lists, "deny": lists})


restriction_dicts = st.fixed_dictionaries(
    {},
    optional={
        "ips": allow_deny(networks()),
        "countries": allow_deny(cased(sorted(COUNTRY_CODES))),
        "referrers": st.lists(
            cased(["https://*.example.com/*", "https://app.example.org/", "http://[::1]:8080/x"]),
            max_size=3,
        ),
        "user_agents": allow_deny(st.text("aB*?/ ", max_size=12)),
        "methods": st.lists(cased(["get", "POST", "Patch", "PURGE"]), max_size=4),
        "paths": st.lists(
            st.lists(_PATTERN_SEGMENTS, min_size=1, max_size=4).map(lambda s: "/" + "/".join(s)),
            max_size=3,
        ),
        "schedule": st.fixed_dictionaries(
            {},
            optional={
                "timezone": st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata"]),
                "weekdays": st.lists(cased(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])),
                "hours": st.lists(
                    _HOURS.filter(lambda t: (t[0], t[1]) != (t[2], t[3] if t[2] < 24 else 0)).map(
                        hour_range
                    ),
                    max_size=3,
                ),
            },
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(restriction_dicts)
def test_to_dict_round_trips(data: dict[str, object]) -> None:
    r = Restrictions.from_dict(data)
    if r is None:
        return
    normal = r.to_dict()
    again = Restrictions.from_dict(json.loads(json.dumps(normal)))
    assert again == r
    assert again is not None and again.to_dict() == normal
    assert again.kinds() == r.kinds()


def test_to_dict_is_a_copy() -> None:
    r = build({"methods": ["GET"]})
    data = r.to_dict()
    methods = data["methods"]
    assert isinstance(methods, list)
    methods.append("POST")
    assert r.to_dict() == {"methods": ["GET"]}
