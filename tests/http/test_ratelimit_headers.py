"""``ratelimit_headers`` and ``problem_for``: the status, the draft-ietf-httpapi
ratelimit headers (read back with a structured-fields parser, RFC 9651) and the
RFC 9457 body, for every kind of verdict."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import unquote

import pytest

from keystead.client import LimitInfo, VerifyResult
from keystead.core.answers import (
    SF_INTEGER_MAX,
    known_windows,
    served_limit_headers,
    sf_string,
    status_for,
    whole_seconds,
)
from keystead.core.clock import ManualClock
from keystead.core.models import Code, Key, LimitState
from keystead.core.verify import Verdict, VerifiableKey
from keystead.http import problem_for, ratelimit_headers
from keystead.service import Keystead

NOW = 1_750_000_000.0

# --- a small structured-fields parser (RFC 9651 section 4.2), strict ----------------

Bare = int | float | str | bool | bytes
Params = dict[str, Bare]

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")


class SfParser:
    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def fail(self, why: str) -> NoReturn:
        raise ValueError(f"{why} at {self.at} in {self.text!r}")

    def take(self, pattern: re.Pattern[str], why: str) -> re.Match[str]:
        match = pattern.match(self.text, self.at)
        if match is None:
            self.fail(why)
        self.at = match.end()
        return match

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def list(self) -> list[tuple[Bare, Params]]:
        self.text = self.text.strip(" ")
        members: list[tuple[Bare, Params]] = []
        while self.at < len(self.text):
            members.append((self.bare(), self.params()))
            while self.peek() in (" ", "\t") and self.peek():
                self.at += 1
            if self.at == len(self.text):
                return members
            if self.peek() != ",":
                self.fail("expected ','")
            self.at += 1
            while self.peek() in (" ", "\t") and self.peek():
                self.at += 1
            if self.at == len(self.text):
                self.fail("trailing ','")
        return members

    def params(self) -> Params:
        out: Params = {}
        while self.peek() == ";":
            self.at += 1
            while self.peek() == " ":
                self.at += 1
            match = self.take(_KEY, "bad key")
            value: Bare = True
            if self.peek() == "=":
                self.at += 1
                value = self.bare()
            out[match.group()] = value
        return out

    def bare(self) -> Bare:
        char = self.peek()
        if char == '"':
            return self.string()
        if char == "?":
            self.at += 2
            return self.text[self.at - 1] == "1"
        if char == ":":
            return self.take(_BYTES, "bad bytes").group(1).encode()
        if char == "-" or char.isdigit():
            match = self.take(_NUMBER, "bad number")
            return float(match.group()) if match.group(1) else int(match.group())
        return self.take(_TOKEN, "bad item").group()

    def string(self) -> str:
        self.at += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                self.fail("unterminated string")
            self.at += 1
            if char == '"':
                return "".join(out)
            if char == "\\":
                char = self.peek()
                if char not in ('"', "\\"):
                    self.fail("bad escape")
                self.at += 1
            elif not " " <= char <= "~":
                self.fail("not printable ASCII")
            out.append(char)


def sf_list(value: str) -> list[tuple[Bare, Params]]:
    return SfParser(value).list()


def test_the_parser_reads_the_drafts_examples() -> None:
    assert sf_list('"burst";q=100;w=60,"daily";q=1000;w=86400') == [
        ("burst", {"q": 100, "w": 60}),
        ("daily", {"q": 1000, "w": 86400}),
    ]
    assert sf_list('"default";r=999;pk=:dHJpYWwxMjEzMjM=:') == [
        ("default", {"r": 999, "pk": b"dHJpYWwxMjEzMjM="})
    ]
    for bad in ('"a";q=1,', '"a', '"a";Q=1', '"\\x"', '"a" "b"', '"é"'):
        with pytest.raises(ValueError):
            sf_list(bad)


# --- verdicts -------------------------------------------------------------------------


def state(
    name: str,
    limit: int,
    remaining: int,
    reset: float | None,
    retry_after: float | None = None,
    *,
    kind: str = "rate_limit",
    allowed: bool = True,
) -> LimitState:
    return LimitState(name, kind, limit, remaining, reset, retry_after, allowed)


def record(limits: dict[str, Any] | None = None) -> VerifiableKey:
    stamp = datetime.fromtimestamp(NOW, UTC)
    key = Key(
        id="key_01JZ8Q3V6N2X7R4M5T9K0W1B2C", workspace_id="ws_01JZ8Q3V6N2X7R4M5T9K0W1B2C",
        api_id="api_01JZ8Q3V6N2X7R4M5T9K0W1B2C", prefix="ks", start="ks_abcd", name=None,
        owner_id=None, meta={}, permissions=(), roles=(), enabled=True, environment=None,
        not_before=None, expires_at=None, restrictions=None, created_at=stamp,
        updated_at=stamp, last_used_at=None, revoked_at=None, created_by=None,
        limits=limits or {},
    )  # fmt: skip
    return VerifiableKey.build(key)


def headers_of(verdict: Verdict) -> tuple[int | None, dict[str, str]]:
    status, headers = ratelimit_headers(verdict, now=NOW)
    names = [name for name, _ in headers]
    assert len(names) == len(set(names)), headers
    assert all(isinstance(v, str) and v.isascii() and "\n" not in v for _, v in headers)
    return status, dict(headers)


def test_a_valid_verdict_without_limits_adds_nothing() -> None:
    assert ratelimit_headers(Verdict(Code.VALID, record())) == (None, [])


def test_a_valid_verdict_lists_every_limit_most_constraining_first() -> None:
    limits = (
        state("burst", 10, 9, NOW + 0.4),
        state("minute", 100, 5, NOW + 57.2),
        state("quota", 1000, 400, NOW + 86_000, kind="quota"),
        state("concurrency", 4, 1, NOW + 30, kind="concurrency"),
    )
    status, headers = headers_of(Verdict(Code.VALID, record(), limits=limits))
    assert status is None
    assert "Retry-After" not in headers
    policy, current = sf_list(headers["RateLimit-Policy"]), sf_list(headers["RateLimit"])
    order = ["minute", "concurrency", "quota", "burst"]  # 5%, 25%, 40%, 90% left
    assert [name for name, _ in policy] == [name for name, _ in current] == order
    assert dict(policy)["minute"] == {"q": 100}
    assert dict(policy)["concurrency"] == {"q": 4, "qu": "concurrent-requests"}
    assert dict(current) == {
        "minute": {"r": 5, "t": 58},  # rounded up
        "concurrency": {"r": 1, "t": 30},
        "quota": {"r": 400, "t": 86_000},
        "burst": {"r": 9, "t": 1},
    }


def test_a_rate_limited_verdict_is_a_429_with_retry_after() -> None:
    limits = (
        state("day", 5000, 4000, NOW + 80_000),
        state("rps", 3, 0, NOW + 20, 6.2, allowed=False),
    )
    verdict = Verdict(Code.RATE_LIMITED, record(), "rps", limits, retry_after=6.2)
    status, headers = headers_of(verdict)
    assert status == 429
    assert headers["Retry-After"] == "7"
    current = sf_list(headers["RateLimit"])
    assert current[0] == ("rps", {"r": 0, "t": 7})  # the refusing limit: until a retry passes
    assert current[1] == ("day", {"r": 4000, "t": 80_000})
    # the draft: Retry-After no earlier than the end of the refusing limits' windows
    refusing = [p["t"] for _, p in current if p["r"] == 0]
    assert all(isinstance(t, int) and t <= int(headers["Retry-After"]) for t in refusing)
    problem = problem_for(verdict)
    assert problem == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "the rate limit 'rps' is exceeded",
        "code": "RATE_LIMITED",
        "retry_after": 7,
    }


def test_the_longest_refusal_comes_first() -> None:
    limits = (
        state("a", 10, 0, NOW + 5, 1.0, allowed=False),
        state("b", 10, 0, NOW + 50, 40.0, allowed=False),
        state("credits", 10, 0, None, None, kind="credits", allowed=False),
        state("c", 10, 1, NOW + 5),
    )
    verdict = Verdict(Code.USAGE_EXCEEDED, record(), "credits", limits)
    status, headers = headers_of(verdict)
    assert status == 429
    assert "Retry-After" not in headers  # waiting will not help
    current = sf_list(headers["RateLimit"])
    assert current == [
        ("credits", {"r": 0}),  # no refill: no t
        ("b", {"r": 0, "t": 40}),
        ("a", {"r": 0, "t": 1}),
        ("c", {"r": 1, "t": 5}),
    ]
    problem = problem_for(verdict)
    assert (problem["status"], problem["code"]) == (429, "USAGE_EXCEEDED")
    assert "retry_after" not in problem
    assert problem["detail"] == "the usage limit 'credits' is used up"


@pytest.mark.parametrize(
    ("reason", "retry_after", "detail"),
    [
        ("overloaded", 1.0, "the service is overloaded; retry later"),
        ("limiter_unavailable", None, "usage limits cannot be checked right now; retry later"),
    ],
)
def test_a_shed_verdict_is_a_503(reason: str, retry_after: float | None, detail: str) -> None:
    verdict = Verdict(Code.RATE_LIMITED, record(), reason, retry_after=retry_after, shed=True)
    status, headers = headers_of(verdict)
    assert status == 503
    assert headers == ({} if retry_after is None else {"Retry-After": "1"})
    problem = problem_for(verdict)
    assert (problem["status"], problem["title"], problem["detail"]) == (
        503,
        "Service Unavailable",
        detail,
    )
    assert problem.get("retry_after") == (None if retry_after is None else 1)


def test_failed_attempts_refuse_without_a_key() -> None:
    verdict = Verdict(Code.RATE_LIMITED, None, "failed_attempts", retry_after=59.5)
    status, headers = headers_of(verdict)
    assert (status, headers) == (429, {"Retry-After": "60"})
    assert "failed attempts" in problem_for(verdict)["detail"]


def test_an_unusable_key_is_one_vague_401() -> None:
    codes = [Code.MALFORMED, Code.NOT_FOUND, Code.REVOKED, Code.DISABLED, Code.NOT_YET_VALID,
             Code.EXPIRED]  # fmt: skip
    problems = []
    for code in codes:
        verdict = Verdict(code, None if code in (Code.MALFORMED, Code.NOT_FOUND) else record())
        assert ratelimit_headers(verdict) == (401, [])
        problems.append(problem_for(verdict))
    assert all(p == problems[0] for p in problems)  # nothing tells them apart
    assert problems[0]["status"] == 401 and "code" not in problems[0]


def test_a_key_that_may_not_do_this_is_a_403() -> None:
    for code, reason in ((Code.FORBIDDEN, "ip"), (Code.INSUFFICIENT_PERMISSIONS, "a.b")):
        verdict = Verdict(code, record(), reason)
        assert ratelimit_headers(verdict) == (403, [])
        problem = problem_for(verdict)
        assert (problem["status"], problem["code"]) == (403, code.value)
        assert reason not in problem["detail"]  # the restriction stays in the audit log


def test_a_valid_verdict_is_not_a_problem() -> None:
    with pytest.raises(ValueError, match="valid"):
        problem_for(Verdict(Code.VALID, record()))


def test_windows_come_from_the_keys_own_limits() -> None:
    own = {
        "ratelimits": [{"name": "rps", "limit": 3, "duration_s": 60.0, "algorithm": "gcra"},
                       {"name": "fast", "limit": 3, "duration_s": 0.5, "algorithm": "gcra"}],
        "quota": {"limit": 100, "period": "week", "timezone": "UTC", "offset_s": 0},
        "credits": {"remaining": 5, "refill": {"amount": 5, "interval_s": 3600.0, "mode": "set"}},
    }  # fmt: skip
    limits = (
        state("rps", 3, 3, NOW),
        state("fast", 3, 3, NOW),
        state("quota", 100, 100, NOW + 10, kind="quota"),
        state("credits", 5, 5, NOW + 10, kind="credits"),
        state("plan_limit", 3, 3, NOW),  # from a plan: its window is unknown here
        state("owner.rps", 3, 3, NOW),
    )
    _, headers = headers_of(Verdict(Code.VALID, record(own), limits=limits))
    policy = dict(sf_list(headers["RateLimit-Policy"]))
    assert policy["rps"] == {"q": 3, "w": 60}
    assert policy["fast"] == {"q": 3, "w": 1}  # whole seconds, at least 1
    assert policy["quota"] == {"q": 100, "w": 604_800}
    assert policy["credits"] == {"q": 5, "w": 3600}
    assert policy["plan_limit"] == policy["owner.rps"] == {"q": 3}
    month = {"quota": {"limit": 1, "period": "month", "timezone": "UTC", "offset_s": 0}}
    _, headers = headers_of(Verdict(Code.VALID, record(month), limits=limits[2:3]))
    assert sf_list(headers["RateLimit-Policy"]) == [("quota", {"q": 100})]


@pytest.mark.parametrize(
    "name", ["rps", 'say "hi"', "back\\slash", "per cent %41", "débit", "日本", "tab\there"]
)
def test_any_name_survives_the_round_trip(name: str) -> None:
    limits = (state(name, 1, 1, NOW),)
    _, headers = headers_of(Verdict(Code.VALID, record(), limits=limits))
    for field in ("RateLimit-Policy", "RateLimit"):
        [(item, _)] = sf_list(headers[field])
        assert isinstance(item, str) and unquote(item) == name
    assert sf_string("a b") == '"a b"'


def test_numbers_stay_structured_field_integers() -> None:
    huge = 10**18
    limits = (state("big", huge, huge, NOW + 1e20), state("neg", 5, -3, NOW - 100))
    status, headers = headers_of(Verdict(Code.RATE_LIMITED, record(), "big", limits, 1e30))
    assert status == 429 and headers["Retry-After"] == str(SF_INTEGER_MAX)
    current = dict(sf_list(headers["RateLimit"]))
    assert current["big"] == {"r": SF_INTEGER_MAX, "t": SF_INTEGER_MAX}
    assert current["neg"] == {"r": 0, "t": 0}
    assert dict(sf_list(headers["RateLimit-Policy"]))["big"] == {"q": SF_INTEGER_MAX}


def test_whole_seconds_round_up() -> None:
    cases = [(None, None), (0.0, 0), (0.001, 1), (0.2, 1), (2.0, 2), (2.0001, 3), (-1.0, 0)]
    for seconds, expected in cases:
        assert whole_seconds(seconds) == expected
    assert whole_seconds(math.nan) is None
    assert whole_seconds(math.inf) == SF_INTEGER_MAX


async def test_headers_of_real_verdicts(keystead: Keystead, clock: ManualClock) -> None:
    operator = await keystead.workspaces.local_operator()
    api = await keystead.apis.create(operator, name="gw")
    created = await keystead.keys.create(
        operator,
        api_id=api.id,
        ratelimits=[{"name": "rps", "limit": 2, "duration_s": 10}],
        quota={"limit": 100, "period": "day"},
    )
    seen = []
    for _ in range(3):
        verdict = await keystead.verify(created.plaintext)
        seen.append(ratelimit_headers(verdict, now=clock.now()))
    assert [status for status, _ in seen] == [None, None, 429]
    last = dict(seen[-1][1])
    assert last["Retry-After"] == "5"  # one unit every 10 s / 2
    assert sf_list(last["RateLimit-Policy"]) == [
        ("rps", {"q": 2, "w": 10}),
        ("quota", {"q": 100, "w": 86_400}),
    ]
    assert sf_list(last["RateLimit"])[0] == ("rps", {"r": 0, "t": 5})
    first = dict(seen[0][1])
    assert sf_list(first["RateLimit"]) == [
        ("rps", {"r": 1, "t": 5}),
        ("quota", {"r": 99, "t": math.ceil(86_400 - clock.now() % 86_400)}),
    ]


# --- a verify answer read back by the SDK answers like the verdict -------------------


def as_result(verdict: Verdict) -> VerifyResult:
    """The ``VerifyResult`` a client reads for this verdict (codes as text)."""
    return VerifyResult(
        valid=verdict.valid,
        code=verdict.code.value,
        reason=verdict.reason,
        limits=tuple(
            LimitInfo(s.name, s.kind, s.limit, s.remaining, s.reset, s.retry_after, not s.allowed)
            for s in verdict.limits
        ),
        retry_after=verdict.retry_after,
        shed=verdict.shed,
    )


@pytest.mark.parametrize(
    "verdict",
    [
        Verdict(Code.VALID, record(), limits=(state("rps", 3, 2, NOW + 20),)),
        Verdict(
            Code.RATE_LIMITED,
            record(),
            "rps",
            (state("rps", 3, 0, NOW + 20, 6.2, allowed=False), state("day", 9, 5, NOW + 99)),
            retry_after=6.2,
        ),
        Verdict(
            Code.USAGE_EXCEEDED,
            record(),
            "quota",
            (state("quota", 5, 0, None, kind="quota", allowed=False),),
        ),
        Verdict(Code.RATE_LIMITED, None, "limiter_unavailable", retry_after=1.5, shed=True),
        Verdict(Code.INSUFFICIENT_PERMISSIONS, record(), "a.read"),
        Verdict(Code.FORBIDDEN, record(), "ip"),
        Verdict(Code.REVOKED, record()),
        Verdict(Code.NOT_FOUND),
    ],
    ids=repr,
)
def test_a_verify_result_answers_like_its_verdict(verdict: Verdict) -> None:
    result = as_result(verdict)
    assert status_for(result) == status_for(verdict)
    assert ratelimit_headers(result, now=NOW) == ratelimit_headers(verdict, now=NOW)
    if status_for(verdict) is not None:
        assert problem_for(result) == problem_for(verdict)


def test_windows_can_be_given() -> None:
    limits = (state("rps", 3, 2, NOW + 20),)
    result = as_result(Verdict(Code.VALID, record(), limits=limits))
    _, headers = ratelimit_headers(result, now=NOW, windows={"rps": 60})
    assert dict(headers)["RateLimit-Policy"] == '"rps";q=3;w=60'
    own = record({"ratelimits": [{"name": "rps", "limit": 3, "duration_s": 30}]})
    verdict = Verdict(Code.VALID, own, limits=limits)
    assert known_windows(verdict) == {"rps": 30}
    _, headers = ratelimit_headers(verdict, now=NOW, windows={})
    assert dict(headers)["RateLimit-Policy"] == '"rps";q=3'


@pytest.mark.parametrize("kind", ["rate_limit", "quota", "credits", "concurrency"])
@pytest.mark.parametrize(
    ("name", "limit", "remaining", "reset"),
    [
        ("rps", 3, 2, NOW + 0.2),
        ('say "hi" %', 10**18, 10**18, NOW + 1e20),
        ("neg", 5, -3, NOW - 100),
        ("never", 7, 7, None),
        ("nan", 7, 7, math.nan),
        ("inf", 7, 7, math.inf),
    ],
)
def test_served_headers_of_one_limit_are_those_of_the_general_path(
    kind: str, name: str, limit: int, remaining: int, reset: float | None
) -> None:
    own = {"ratelimits": [{"name": name, "limit": limit, "duration_s": 60.0, "algorithm": "gcra"}]}
    verdict = Verdict(
        Code.VALID, record(own), limits=(state(name, limit, remaining, reset, kind=kind),)
    )
    for _ in range(2):  # built, then from the prefixes kept for the record
        fast = served_limit_headers(verdict, NOW)
        assert fast is not None
        _, general = ratelimit_headers(verdict, now=NOW)
        assert [value.encode("ascii") for _, value in general] == list(fast)


def test_served_headers_leave_other_verdicts_to_the_general_path() -> None:
    one = (state("rps", 3, 0, NOW + 1),)
    assert served_limit_headers(Verdict(Code.VALID, record()), NOW) is None
    assert served_limit_headers(Verdict(Code.VALID, record(), limits=one * 2), NOW) is None
    refused = Verdict(
        Code.RATE_LIMITED, record(), "rps", (state("rps", 3, 0, NOW + 1, 1.0, allowed=False),)
    )
    assert served_limit_headers(refused, NOW) is None
