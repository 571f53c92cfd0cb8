"""Limits through the service: every test on memory:// and on the real Redis
(KEYSTEAD_TEST_REDIS_URL), each on SQLite and PostgreSQL stores."""

from typing import Any

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code, VerifyContext
from keystead.errors import LimiterUnavailable
from keystead.limits import MemoryLimiter, RateLimit, open_limiter
from keystead.service import Keystead


@pytest.fixture
def ks(limited_keystead: Keystead) -> Keystead:
    return limited_keystead


@pytest.fixture
async def root(ks: Keystead) -> Principal:
    return await ks.workspaces.local_operator()


async def _key(ks: Keystead, root: Principal, **fields: Any) -> tuple[str, str]:
    apis = await ks.apis.list(root)
    api_id = apis[0].id if apis else (await ks.apis.create(root, name="api")).id
    created = await ks.keys.create(root, api_id=api_id, **fields)
    return created.plaintext, created.key.id


async def test_rate_limit_admits_burst_then_refuses(
    ks: Keystead, root: Principal, clock: ManualClock
) -> None:
    key, _ = await _key(ks, root, ratelimits=[{"name": "rps", "limit": 3, "duration_s": 60}])
    for expected in (2, 1, 0):
        verdict = await ks.verify(key)
        assert verdict.valid
        assert [(r.name, r.limit, r.remaining) for r in verdict.limits] == [("rps", 3, expected)]
    refused = await ks.verify(key)
    assert (refused.code, refused.reason) == (Code.RATE_LIMITED, "rps")
    assert refused.retry_after == pytest.approx(20.0)
    clock.advance(20)
    assert (await ks.verify(key)).valid


async def test_limits_are_all_or_nothing(ks: Keystead, root: Principal) -> None:
    key, key_id = await _key(
        ks,
        root,
        ratelimits=[{"name": "rpm", "limit": 10, "duration_s": 60}],
        credits={"remaining": 2},
    )
    assert (await ks.verify(key, cost=2)).valid
    refused = await ks.verify(key)
    assert (refused.code, refused.reason) == (Code.USAGE_EXCEEDED, "credits")
    # the refused request spent no rate-limit unit
    rate = next(r for r in refused.limits if r.name == "rpm")
    assert rate.remaining == 8
    assert await ks.keys.credits(root, key_id) == 0
    assert (await ks.verify(key, cost=0)).valid


async def test_requests_refused_before_limits_spend_nothing(ks: Keystead, root: Principal) -> None:
    key, _ = await _key(ks, root, permissions=["a"], credits={"remaining": 1})
    denied = await ks.verify(key, VerifyContext(permissions="b"))
    assert denied.code is Code.INSUFFICIENT_PERMISSIONS
    assert (await ks.verify(key)).valid
    assert (await ks.verify(key)).code is Code.USAGE_EXCEEDED


async def test_plan_change_reaches_every_key_at_once(ks: Keystead, root: Principal) -> None:
    plan = await ks.plans.create(
        root, name="free", ratelimits=[{"name": "burst", "limit": 1, "duration_s": 3600}]
    )
    first, _ = await _key(ks, root, plan_id=plan.id)
    second, _ = await _key(ks, root, plan_id=plan.id)
    assert (await ks.verify(first)).valid
    assert (await ks.verify(first)).code is Code.RATE_LIMITED
    assert (await ks.verify(second)).valid  # counters are per key
    await ks.plans.update(
        root, plan.id, {"ratelimits": [{"name": "burst", "limit": 5, "duration_s": 3600}]}
    )
    assert (await ks.verify(first)).valid
    await ks.plans.update(root, plan.id, {"ratelimits": None, "quota": {"limit": 1}})
    assert (await ks.verify(second)).valid
    assert (await ks.verify(second)).code is Code.USAGE_EXCEEDED


async def test_key_limits_override_the_plan_by_name(ks: Keystead, root: Principal) -> None:
    plan = await ks.plans.create(
        root,
        name="basic",
        ratelimits=[
            {"name": "rpm", "limit": 1, "duration_s": 60},
            {"name": "rph", "limit": 100, "duration_s": 3600},
        ],
    )
    key, _ = await _key(
        ks, root, plan_id=plan.id, ratelimits=[{"name": "rpm", "limit": 2, "duration_s": 60}]
    )
    verdict = await ks.verify(key)
    assert sorted((r.name, r.limit) for r in verdict.limits) == [("rph", 100), ("rpm", 2)]


async def test_owner_limits_are_shared_across_keys(ks: Keystead, root: Principal) -> None:
    await ks.owners.put(root, "cust_1", quota={"limit": 3, "period": "day"})
    first, _ = await _key(ks, root, owner_id="cust_1")
    second, _ = await _key(ks, root, owner_id="cust_1")
    other, _ = await _key(ks, root, owner_id="cust_2")
    assert (await ks.verify(first)).valid
    assert (await ks.verify(second)).valid
    verdict = await ks.verify(first)
    assert [(r.name, r.remaining) for r in verdict.limits] == [("owner.quota", 0)]
    assert (await ks.verify(second)).code is Code.USAGE_EXCEEDED
    assert (await ks.verify(other)).valid


async def test_ad_hoc_and_per_ip_limits(ks: Keystead, root: Principal) -> None:
    api = await ks.apis.create(
        root,
        name="ip-limited",
        limits={"ip_ratelimits": [{"name": "per_ip", "limit": 2, "duration_s": 60}]},
    )
    key = (await ks.keys.create(root, api_id=api.id)).plaintext
    a, b = VerifyContext(ip="203.0.113.1"), VerifyContext(ip="203.0.113.2")
    assert (await ks.verify(key, a)).valid
    assert (await ks.verify(key, a)).valid
    assert (await ks.verify(key, a)).reason == "per_ip"
    assert (await ks.verify(key, b)).valid
    extra = [RateLimit("expensive", 1, 60.0)]
    assert (await ks.verify(key, b, ratelimits=extra)).valid
    assert (await ks.verify(key, b, ratelimits=extra)).reason == "expensive"


async def test_failed_attempts_block_the_ip(ks: Keystead, root: Principal) -> None:
    import secrets

    from keystead.core import keyformat

    key, _ = await _key(ks, root)
    # this counter is global per IP (not per workspace): a fresh IP per run
    ip = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    attacker = VerifyContext(ip=ip)
    for _ in range(3):
        assert (await ks.verify(keyformat.generate("ks"), attacker)).code is Code.NOT_FOUND
    blocked = await ks.verify(keyformat.generate("ks"), attacker)
    assert (blocked.code, blocked.reason) == (Code.RATE_LIMITED, "failed_attempts")
    # even a valid key is refused from that IP, and answered without a lookup
    assert (await ks.verify(key, attacker)).reason == "failed_attempts"
    assert (await ks.verify(key, VerifyContext(ip="2001:db8::1"))).valid
    state = ks.failed_attempts.state(ip, ks.clock.now())
    assert state.failures_seen == 4 and state.blocked_until is not None
    # the limiter's side, read without spending: twice the same answer
    seen = await ks.failed_attempts_of(root, ip)
    assert seen == await ks.failed_attempts_of(root, ip)
    assert (seen.enabled, seen.limit, seen.remaining) == (True, 3, 0)
    assert seen.window_s == ks.settings.failed_attempts_window_s
    assert seen.reset is not None and seen.reset > ks.clock.now()
    fresh = await ks.failed_attempts_of(root, f"2001:db8::{secrets.token_hex(2)}:1")
    assert (fresh.failures_seen, fresh.remaining, fresh.blocked_until) == (0, 3, None)


async def test_failed_attempts_off_or_limiter_down(
    ks: Keystead, root: Principal, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*_args: object) -> None:
        raise LimiterUnavailable("rate-limit backend failed")

    monkeypatch.setattr(ks.limiter, "decide", down)
    unknown = await ks.failed_attempts_of(root, "192.0.2.1")
    assert unknown.enabled and unknown.limit == 3
    assert unknown.remaining is None and unknown.reset is None  # unknown, not zero
    off = await Keystead.open(settings=settings.model_copy(update={"failed_attempts_limit": 0}))
    try:
        operator = await off.workspaces.local_operator(None)
        state = await off.failed_attempts_of(operator, "192.0.2.1")
    finally:
        await off.close()
    assert state.enabled is False
    assert (state.limit, state.window_s, state.remaining, state.reset) == (None, None, None, None)


async def test_concurrency_slots_and_release(ks: Keystead, root: Principal) -> None:
    key, _ = await _key(ks, root, concurrency={"limit": 1, "lease_s": 30})
    held = await ks.verify(key)
    assert held.valid and len(held.leases) == 1
    assert (await ks.verify(key)).code is Code.RATE_LIMITED
    await ks.release(held.leases)
    assert (await ks.verify(key)).valid


async def test_update_credits_and_quota_reset(ks: Keystead, root: Principal) -> None:
    key, key_id = await _key(ks, root, credits={"remaining": 1}, quota={"limit": 2})
    assert (await ks.verify(key)).valid
    assert (await ks.verify(key)).code is Code.USAGE_EXCEEDED
    await ks.keys.update(root, key_id, {"credits": {"remaining": 5}})
    assert await ks.keys.credits(root, key_id) == 5
    assert (await ks.verify(key)).valid  # quota: 2 of 2 used now
    await ks.keys.update(root, key_id, {"name": "renamed"})  # keeps the quota count
    assert (await ks.verify(key)).reason == "quota"
    await ks.keys.update(root, key_id, {"reset_quota": True})
    assert (await ks.verify(key)).valid


async def test_credits_are_reconciled_to_the_store(
    ks: Keystead, root: Principal, settings: Settings, clock: ManualClock
) -> None:
    key, key_id = await _key(ks, root, credits={"remaining": 10})
    for _ in range(4):
        assert (await ks.verify(key)).valid
    await ks.flush()
    assert await ks.store.get_credits_remaining(key_id) == 6
    if isinstance(ks.limiter, MemoryLimiter):
        # a fresh in-memory limiter (a restart) starts from the reconciled balance
        restarted = await Keystead.open(settings=settings, clock=clock)
        try:
            verdict = await restarted.verify(key)
            assert verdict.valid
            assert next(r for r in verdict.limits if r.name == "credits").remaining == 5
        finally:
            await restarted.close()


async def test_limiter_failure_policy(settings: Settings, clock: ManualClock) -> None:
    broken = settings.model_copy(update={"limits_url": "redis://127.0.0.1:1/0"})
    ks = await Keystead.open(settings=broken, clock=clock)
    try:
        root = await ks.workspaces.local_operator()
        open_api = await ks.apis.create(root, name="open", limits={"failure_policy": "open"})
        closed_api = await ks.apis.create(root, name="closed", limits={"failure_policy": "closed"})
        rl = [{"name": "r", "limit": 5, "duration_s": 1}]
        lenient = await ks.keys.create(root, api_id=open_api.id, ratelimits=rl)
        strict = await ks.keys.create(root, api_id=closed_api.id, ratelimits=rl)
        assert (await ks.verify(lenient.plaintext)).valid
        refused = await ks.verify(strict.plaintext)
        assert (refused.code, refused.reason, refused.shed) == (
            Code.RATE_LIMITED,
            "limiter_unavailable",
            True,
        )
        assert ks._verifier.limiter_errors == 2
    finally:
        await ks.close()


async def test_load_shedding_spares_higher_tiers(ks: Keystead, root: Principal) -> None:
    free = await ks.plans.create(root, name="free", quota={"limit": 1000}, priority=0)
    premium = await ks.plans.create(root, name="premium", quota={"limit": 1000}, priority=80)
    low, _ = await _key(ks, root, plan_id=free.id)
    high, _ = await _key(ks, root, plan_id=premium.id)
    ks.shedder.max_inflight = 10
    ks.shedder.enabled = True
    ks.shedder.inflight = 25  # 2.5x the threshold: priorities below 75 are shed
    shed = await ks.verify(low)
    assert (shed.code, shed.shed, shed.reason) == (Code.RATE_LIMITED, True, "overloaded")
    assert (await ks.verify(high)).valid
    ks.shedder.inflight = 5
    assert (await ks.verify(low)).valid


async def test_invalid_limit_specs_name_the_field(ks: Keystead, root: Principal) -> None:
    from keystead.errors import ValidationError

    api = await ks.apis.create(root, name="v")
    bad: list[tuple[dict[str, Any], str]] = [
        ({"ratelimits": [{"name": "x", "limit": 0, "duration_s": 1}]}, "ratelimits[0].limit"),
        ({"quota": {"limit": 1, "period": "year"}}, "quota.period"),
        ({"credits": {"remaining": -1}}, "credits.remaining"),
        ({"concurrency": {"limit": 1, "bogus": 1}}, "concurrency.bogus"),
    ]
    for spec, field in bad:
        with pytest.raises(ValidationError) as info:
            await ks.keys.create(root, {"api_id": api.id, **spec})
        assert info.value.field == field, spec


def test_unknown_limiter_scheme() -> None:
    from keystead.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        open_limiter("memcached://x")


async def test_keys_without_plan_or_limits_are_shed_first(ks: Keystead, root: Principal) -> None:
    bare, _ = await _key(ks, root)
    ks.shedder.max_inflight = 10
    ks.shedder.enabled = True
    ks.shedder.inflight = 10
    assert (await ks.verify(bare)).shed
    ks.shedder.inflight = 0
    assert (await ks.verify(bare)).valid
