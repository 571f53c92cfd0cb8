"""Usage analytics: series from the rollups and top values from the raw records,
against usage generated at known times, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.core.permissions import GrantSet
from keystead.core.usage import UsageRecord
from keystead.errors import Forbidden, NotFound, ValidationError
from keystead.service import Keystead

H0 = 1_749_999_600  # an hour start, just before the clock fixture's NOW
CURL = VerifyContext(ip="1.1.1.1", user_agent="curl/8", method="GET", path="/a")
PY = VerifyContext(ip="2.2.2.2", user_agent="py/3", method="POST", path="/b")
# (status, response_ms, code) of the records a gateway adds at H0 + 2 h
GATEWAY = [(200, 10.0, "VALID"), (404, 10.0, "VALID"), (500, 100.0, "VALID"),
           (503, 1000.0, "VALID"), (429, 1.0, "RATE_LIMITED")]  # fmt: skip


@dataclass
class Traffic:
    api_id: str
    key_id: str
    other_key_id: str


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def _traffic(ks: Keystead, admin: Principal, clock: ManualClock) -> Traffic:
    """alice's key: 3 verifications at H0+1m, 1 at H0+1h, 5 gateway records at
    H0+2h; bob's key: 2 verifications at H0+1m."""
    api = await ks.apis.create(admin, name="analytics")
    alice = await ks.keys.create(admin, api_id=api.id, owner_id="alice")
    bob = await ks.keys.create(admin, api_id=api.id, owner_id="bob")
    clock.set(H0 + 60)
    for _ in range(3):
        assert (await ks.verify(alice.plaintext, CURL)).valid
    for _ in range(2):
        assert (await ks.verify(bob.plaintext, CURL)).valid
    clock.set(H0 + 3600 + 10)
    assert (await ks.verify(alice.plaintext, PY)).valid
    for status, ms, code in GATEWAY:
        await ks.usage.recorder.add(
            UsageRecord(at=H0 + 7200 + 5, workspace_id=admin.workspace_id, api_id=api.id,
                        key_id=alice.key.id, owner_id="alice", code=code, ip="3.3.3.3",
                        user_agent="gw/1", path="/c", status=status, response_ms=ms,
                        bytes_in=10, bytes_out=100)
        )  # fmt: skip
    clock.set(H0 + 5 * 3600)
    await ks.flush()
    return Traffic(api.id, alice.key.id, bob.key.id)


async def test_hourly_series_matches_the_generated_usage(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    t = await _traffic(keystead, admin, clock)
    series = await keystead.analytics.series(
        admin, key_id=t.key_id, start=at(H0), end=at(H0 + 5 * 3600), granularity="hour"
    )
    assert [b.start for b in series.buckets] == [H0 + i * 3600 for i in range(5)]
    assert [b.total for b in series.buckets] == [3, 1, 5, 0, 0]  # zero-filled
    first, second, gateway, empty = series.buckets[0], series.buckets[1], *series.buckets[2:4]
    assert (first.codes, first.success, first.failure) == ({"VALID": 3}, 3, 0)
    assert (first.error_rate, first.latency_p50_ms, first.latency_avg_ms) == (None, None, None)
    assert (first.distinct_ips, first.distinct_user_agents) == (1, 1)
    assert (second.distinct_ips, second.total) == (1, 1)
    assert gateway.codes == {"RATE_LIMITED": 1, "VALID": 4}
    assert (gateway.success, gateway.failure) == (4, 1)
    assert (gateway.status_4xx, gateway.status_5xx, gateway.with_status) == (2, 2, 5)
    assert gateway.error_rate == pytest.approx(0.8)
    assert (gateway.bytes_in, gateway.bytes_out) == (50, 500)
    # exact p50 is 10 ms and p99 1000 ms: the histogram is within a factor 1.26
    assert gateway.latency_p50_ms is not None and 10 / 1.26 <= gateway.latency_p50_ms <= 12.6
    assert gateway.latency_p99_ms is not None and 1000 / 1.26 <= gateway.latency_p99_ms <= 1260
    exact_mean = sum(ms for _, ms, _ in GATEWAY) / len(GATEWAY)
    assert gateway.latency_avg_ms == pytest.approx(exact_mean, rel=0.26)
    assert empty.total == 0 and empty.codes == {} and empty.latency_p99_ms is None
    totals = series.totals
    assert (totals.total, totals.success, totals.failure) == (9, 8, 1)
    assert (totals.distinct_ips, totals.distinct_user_agents) == (3, 3)
    assert series.last_used_at is not None
    assert series.last_used_at.timestamp() == pytest.approx(H0 + 3600 + 10, abs=1)


async def test_scopes_granularities_and_range_edges(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    t = await _traffic(keystead, admin, clock)
    api = await keystead.analytics.series(
        admin, api_id=t.api_id, start=at(H0), end=at(H0 + 3 * 3600)
    )
    assert [b.total for b in api.buckets] == [5, 1, 5]
    assert api.last_used_at is None
    bob = await keystead.analytics.series(admin, owner_id="bob", start=H0, end=H0 + 3 * 3600)
    assert [b.total for b in bob.buckets] == [2, 0, 0]
    minutes = await keystead.analytics.series(
        admin, key_id=t.key_id, start=at(H0), end=at(H0 + 600), granularity="minute"
    )
    assert [b.total for b in minutes.buckets] == [0, 3] + [0] * 8
    # [start, end): the bucket at H0+2h starts at end and is left out
    early = await keystead.analytics.series(admin, key_id=t.key_id, start=H0, end=H0 + 7200)
    assert [b.total for b in early.buckets] == [3, 1]
    # a start inside a bucket includes that bucket from its beginning
    mid = await keystead.analytics.series(admin, key_id=t.key_id, start=H0 + 30, end=H0 + 3601)
    assert [b.total for b in mid.buckets] == [3, 1]
    day = await keystead.analytics.series(
        admin, key_id=t.key_id, start="2025-06-15T00:00:00Z", end="2025-06-16", granularity="day"
    )
    assert [b.total for b in day.buckets] == [9]
    unknown_owner = await keystead.analytics.series(admin, owner_id="nobody", start=H0, end=H0 + 60)
    assert [b.total for b in unknown_owner.buckets] == [0]
    # defaults: to is now (H0 + 5 h, a bucket start), from a day before
    default = await keystead.analytics.series(admin, key_id=t.key_id)
    assert len(default.buckets) == 24 and sum(b.total for b in default.buckets) == 9


async def test_top_values_from_the_raw_records(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    t = await _traffic(keystead, admin, clock)
    end = H0 + 5 * 3600
    ips = await keystead.analytics.top(admin, key_id=t.key_id, by="ip", start=H0, end=end)
    assert ips.items == [("3.3.3.3", 5), ("1.1.1.1", 3), ("2.2.2.2", 1)]
    first_two = await keystead.analytics.top(
        admin, key_id=t.key_id, by="ip", limit=2, start=H0, end=end
    )
    assert first_two.items == ips.items[:2]
    paths = await keystead.analytics.top(admin, api_id=t.api_id, by="path", start=H0, end=end)
    assert paths.items == [("/a", 5), ("/c", 5), ("/b", 1)]  # ties by value
    agents = await keystead.analytics.top(admin, owner_id="bob", by="user_agent", start=H0, end=end)
    assert agents.items == [("curl/8", 2)]
    countries = await keystead.analytics.top(
        admin, api_id=t.api_id, by="country", start=H0, end=end
    )
    assert all(len(c) == 2 and n > 0 for c, n in countries.items)
    assert sum(n for _, n in countries.items) <= 11
    window = await keystead.analytics.top(
        admin, key_id=t.key_id, by="ip", start=H0 + 3600, end=H0 + 7200
    )
    assert window.items == [("2.2.2.2", 1)]
    assert (await keystead.analytics.top(admin, key_id=t.key_id, start=H0, end=H0 + 1)).items == []


async def test_top_keys_and_owners_of_an_api(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    t = await _traffic(keystead, admin, clock)
    end = H0 + 5 * 3600
    keys = await keystead.analytics.top(admin, api_id=t.api_id, by="key_id", start=H0, end=end)
    assert keys.items == [(t.key_id, 9), (t.other_key_id, 2)]
    owners = await keystead.analytics.top(admin, api_id=t.api_id, by="owner_id", start=H0, end=end)
    assert owners.items == [("alice", 9), ("bob", 2)]


async def test_scope_outside_the_principal_is_not_found(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    t = await _traffic(keystead, admin, clock)
    other = await keystead.workspaces.create("other")
    outsider = replace(admin, workspace_id=other.workspace.id)
    elsewhere = replace(admin, api_ids=frozenset({"api_0000000000AAAAAAAAAAAAAAAA"}))
    bobs = replace(admin, owner_id="bob")
    refused = [
        (outsider, {"key_id": t.key_id}),
        (outsider, {"api_id": t.api_id}),
        (elsewhere, {"key_id": t.key_id}),
        (elsewhere, {"api_id": t.api_id}),
        (elsewhere, {"owner_id": "alice"}),  # an owner's figures span APIs
        (bobs, {"key_id": t.key_id}),
        (bobs, {"owner_id": "alice"}),
        (bobs, {"api_id": t.api_id}),  # bob sees only his share of the API
        (admin, {"key_id": "key_0000000000AAAAAAAAAAAAAAAA"}),
        (admin, {"key_id": "not an id"}),
        (admin, {"api_id": "api_0000000000AAAAAAAAAAAAAAAA"}),
    ]
    for principal, scope in refused:
        await _not_found(keystead, principal, **scope)
    mine = await keystead.analytics.series(bobs, key_id=t.other_key_id, start=H0, end=H0 + 3600)
    assert mine.totals.total == 2
    assert (await keystead.analytics.series(bobs, owner_id="bob", start=H0)).totals.total == 2
    reader = Principal(admin.workspace_id, "test", GrantSet(["keys.read"]))
    with pytest.raises(Forbidden, match=r"usage\.read"):
        await keystead.analytics.series(reader, key_id=t.key_id)
    with pytest.raises(Forbidden, match=r"usage\.read"):
        await keystead.analytics.top(reader, key_id=t.key_id)


async def _not_found(
    ks: Keystead,
    principal: Principal,
    key_id: str | None = None,
    owner_id: str | None = None,
    api_id: str | None = None,
) -> None:
    with pytest.raises(NotFound):
        await ks.analytics.series(
            principal, key_id=key_id, owner_id=owner_id, api_id=api_id, start=H0, end=H0 + 3600
        )
    with pytest.raises(NotFound):
        await ks.analytics.top(
            principal, key_id=key_id, owner_id=owner_id, api_id=api_id, start=H0, end=H0 + 3600
        )


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({}, "scope"),
        ({"key_id": "key_x", "api_id": "api_x"}, "scope"),
        ({"owner_id": ""}, "owner_id"),
        ({"owner_id": "o", "granularity": "week"}, "granularity"),
        ({"owner_id": "o", "start": H0, "end": H0}, "from"),
        ({"owner_id": "o", "start": H0 + 1, "end": H0}, "from"),
        ({"owner_id": "o", "start": "yesterday"}, "from"),
        ({"owner_id": "o", "end": float("nan")}, "to"),
        ({"owner_id": "o", "start": H0, "end": H0 + 3 * 86_400, "granularity": "minute"},
         "granularity"),
    ],
)  # fmt: skip
async def test_series_rejects_bad_input(
    keystead: Keystead, admin: Principal, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        await keystead.analytics.series(admin, **arguments)  # type: ignore[arg-type]
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("arguments", "field"),
    [({"by": "referrer"}, "by"), ({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
     ({"limit": True}, "limit")],
)  # fmt: skip
async def test_top_rejects_bad_input(
    keystead: Keystead, admin: Principal, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        await keystead.analytics.top(admin, owner_id="o", **arguments)  # type: ignore[arg-type]
    assert raised.value.field == field


async def test_the_bucket_cap_allows_exactly_the_maximum(
    keystead: Keystead, admin: Principal
) -> None:
    series = await keystead.analytics.series(
        admin, owner_id="o", start=H0, end=H0 + 2000 * 60, granularity="minute"
    )
    assert len(series.buckets) == 2000 and series.totals.total == 0
