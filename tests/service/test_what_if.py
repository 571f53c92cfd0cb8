"""What-if replay on SQLite and PostgreSQL: expected refusals are worked out
here from the recorded uses, not by the replay code."""

from collections.abc import Sequence
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import CreatedKey
from keystead.core.usage import UsageRecord
from keystead.errors import NotFound, ValidationError
from keystead.service import Keystead

DAY = 86_400
QUOTA_1000 = {"quota": {"limit": 1000, "period": "day"}}


def _uses(key: CreatedKey, times: Sequence[float], code: str = "VALID") -> list[UsageRecord]:
    k = key.key
    return [UsageRecord(t, k.workspace_id, k.api_id, k.id, k.owner_id, code) for t in times]


async def _setup(ks: Keystead, admin: Principal) -> tuple[str, str, list[CreatedKey]]:
    api = (await ks.apis.create(admin, name="payments")).id
    free = (await ks.plans.create(admin, name="free", quota={"limit": 100_000})).id
    made = [
        await ks.keys.create(admin, api_id=api, owner_id=owner, plan_id=free)
        for owner in ("acme", "globex", "initech")
    ]
    return api, free, made


async def test_a_lower_daily_quota_names_who_goes_over(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    _, free, (acme, globex, initech) = await _setup(keystead, admin)
    day = (clock.now() // DAY - 1) * DAY  # yesterday, UTC
    acme_times = [day + 60 * i for i in range(1200)]  # one a minute: 20 hours
    records = _uses(acme, acme_times) + _uses(globex, [day + 30 * i for i in range(900)])
    # refused or failed uses that never reached the limits are not replayed
    records += _uses(initech, [day + i for i in range(50)], code="DISABLED")
    await keystead.store.write_usage(records, {})

    got = await keystead.analytics.what_if(admin, plan_id=free, proposal=QUOTA_1000, days=2)

    assert (got.requests, got.refused, got.keys_refused, got.owners_refused) == (2100, 200, 1, 1)
    assert [(o.id, o.requests, o.refused) for o in got.owners] == [
        ("acme", 1200, 200),
        ("globex", 900, 0),
    ]
    assert [(k.id, k.owner_id, k.refused) for k in got.keys] == [
        (acme.key.id, "acme", 200),
        (globex.key.id, "globex", 0),
    ]
    # uses 1000..1199 are refused: minutes 1000 to 1199 of the day
    expected: dict[float, int] = {}
    for t in acme_times[1000:]:
        hour = t - t % 3600
        expected[hour] = expected.get(hour, 0) + 1
    refusals = {b[0].timestamp(): b[2] for b in got.buckets if b[2]}
    assert refusals == expected
    assert sum(b[1] for b in got.buckets) == 2100
    assert got.proposal == {
        "quota": {"limit": 1000, "period": "day", "timezone": "UTC", "offset_s": 0}
    }
    assert got.notes == []


async def test_a_rate_limit_replays_as_gcra(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api, _, (acme, _, _) = await _setup(keystead, admin)
    start = clock.now() - 2 * 3600
    await keystead.store.write_usage(_uses(acme, [start + 3 * i for i in range(1200)]), {})
    # 1000 a day: a burst of 1000, then one every 86.4 s. In tenths of a second:
    # the k+1-th allowed use at 3i s needs (k + 1) * 864 <= 864000 + 30 i.
    allowed = 0
    for i in range(1200):
        if (allowed + 1) * 864 <= 864_000 + 30 * i:
            allowed += 1
    proposal = {"ratelimits": [{"name": "day", "limit": 1000, "duration_s": 86_400}]}
    key_id = acme.key.id
    got = await keystead.analytics.what_if(admin, key_id=key_id, proposal=proposal, days=1)
    assert got.refused == 1200 - allowed == 159
    by_api = await keystead.analytics.what_if(admin, api_id=api, proposal=proposal, days=1)
    assert (by_api.requests, by_api.refused) == (1200, 159)


async def test_a_keys_own_limits_still_win_over_the_plan(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    _, free, (acme, globex, _) = await _setup(keystead, admin)
    await keystead.keys.update(admin, acme.key.id, {"quota": {"limit": 5000, "period": "day"}})
    day = (clock.now() // DAY - 1) * DAY
    await keystead.store.write_usage(
        _uses(acme, [day + 10 * i for i in range(1500)])
        + _uses(globex, [day + 10 * i for i in range(1500)]),
        {},
    )
    got = await keystead.analytics.what_if(admin, plan_id=free, proposal=QUOTA_1000, days=2)
    assert [(o.id, o.refused) for o in got.owners] == [("globex", 500), ("acme", 0)]


async def test_the_reader_sees_only_its_share(keystead: Keystead, clock: ManualClock) -> None:
    boot = await keystead.workspaces.init()
    root = await keystead.root_keys.authenticate(boot.root_key.plaintext)
    api_a = (await keystead.apis.create(root, name="a")).id
    api_b = (await keystead.apis.create(root, name="b")).id
    plan = (await keystead.plans.create(root, name="free")).id
    on_a = await keystead.keys.create(root, api_id=api_a, owner_id="acme", plan_id=plan)
    on_b = await keystead.keys.create(root, api_id=api_b, owner_id="globex", plan_id=plan)
    day = (clock.now() // DAY - 1) * DAY
    times = [day + 10 * i for i in range(1100)]
    await keystead.store.write_usage(_uses(on_a, times) + _uses(on_b, times), {})
    narrow = await keystead.root_keys.create(root, permissions=["usage.read"], api_ids=[api_a])
    by_api = await keystead.root_keys.authenticate(narrow.plaintext)
    got = await keystead.analytics.what_if(by_api, plan_id=plan, proposal=QUOTA_1000, days=2)
    assert [(o.id, o.refused) for o in got.owners] == [("acme", 100)]
    with pytest.raises(NotFound):
        await keystead.analytics.what_if(by_api, key_id=on_b.key.id, proposal=QUOTA_1000)
    with pytest.raises(NotFound):
        await keystead.analytics.what_if(by_api, api_id=api_b, proposal=QUOTA_1000)
    owned = await keystead.root_keys.create(root, permissions=["usage.read"], owner_id="globex")
    by_owner = await keystead.root_keys.authenticate(owned.plaintext)
    got = await keystead.analytics.what_if(by_owner, plan_id=plan, proposal=QUOTA_1000, days=2)
    assert [(o.id, o.refused) for o in got.owners] == [("globex", 100)]
    other = await keystead.workspaces.create("other")
    intruder = await keystead.root_keys.authenticate(other.root_key.plaintext)
    with pytest.raises(NotFound):
        await keystead.analytics.what_if(intruder, plan_id=plan, proposal=QUOTA_1000)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"proposal": {"concurrency": {"limit": 5}}}, "proposal.concurrency"),
        ({"proposal": {"quota": {"limit": -1}}}, "proposal.quota.limit"),
        (
            {"proposal": {"ratelimits": [{"name": "x", "limit": 1}]}},
            "proposal.ratelimits[0].duration_s",
        ),
        ({"proposal": {"burst": 1}}, "proposal.burst"),
        ({"proposal": []}, "proposal"),
        ({"proposal": QUOTA_1000, "days": 0}, "days"),
        ({"proposal": QUOTA_1000, "days": 32}, "days"),
        ({"proposal": QUOTA_1000, "granularity": "week"}, "granularity"),
        ({"proposal": QUOTA_1000, "days": 31, "granularity": "minute"}, "granularity"),
        ({"proposal": QUOTA_1000, "top": 0}, "top"),
        ({"proposal": QUOTA_1000, "key_id": "key_x"}, "scope"),
        ({"proposal": QUOTA_1000, "plan_id": None, "api_id": "plan_1"}, "api_id"),
    ],
)
async def test_bad_requests_name_the_field(
    keystead: Keystead, admin: Principal, arguments: dict[str, object], field: str
) -> None:
    _, free, _ = await _setup(keystead, admin)
    given = {"plan_id": free, **arguments}
    with pytest.raises(ValidationError) as caught:
        await keystead.analytics.what_if(admin, **given)  # type: ignore[arg-type]
    assert caught.value.field == field


async def test_a_window_past_the_retention_says_so(
    database_url: str, server_secret: str, tmp_path: Path, clock: ManualClock
) -> None:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        secret=server_secret,
        secret_file=tmp_path / "keystead.secret",
        usage_raw_retention_days=3,
    )
    ks = await Keystead.open(settings=settings, clock=clock)
    try:
        admin = await ks.workspaces.local_operator()
        _, free, _ = await _setup(ks, admin)
        got = await ks.analytics.what_if(admin, plan_id=free, proposal=QUOTA_1000, days=7)
        assert got.covered_from.timestamp() == pytest.approx(clock.now() - 3 * DAY)
        assert got.start.timestamp() == pytest.approx(clock.now() - 7 * DAY)
        assert got.notes == ["raw usage is kept 3 days: the replay covers 3 of the 7 days asked"]
    finally:
        await ks.close()
