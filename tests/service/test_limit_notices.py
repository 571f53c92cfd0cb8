"""``ratelimit.exceeded`` / ``quota.exceeded`` reach the outbox past a threshold,
never once per refused request."""

from __future__ import annotations

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code
from keystead.service import Keystead


async def _events(ks: Keystead, admin: Principal, kind: str) -> list[dict[str, object]]:
    await ks.flush()
    found = await ks.store.list_events(admin.workspace_id, after=None, limit=1000)
    return [e.data for e in found if e.type == kind]


async def test_one_rate_limit_event_per_cooldown(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="limited")
    created = await keystead.keys.create(
        admin, api_id=api.id, ratelimits=[{"name": "rpm", "limit": 2, "duration_s": 60}]
    )
    codes = [(await keystead.verify(created.plaintext)).code for _ in range(12)]
    assert codes.count(Code.RATE_LIMITED) == 10
    first = await _events(keystead, admin, "ratelimit.exceeded")
    assert len(first) == 1
    assert (first[0]["key_id"], first[0]["limit"], first[0]["refused"]) == (
        created.key.id,
        "rpm",
        1,
    )
    clock.advance(keystead.settings.limit_event_cooldown_s + 1)
    for _ in range(3):
        await keystead.verify(created.plaintext)  # 2 pass (a new window), then refused
    later = await _events(keystead, admin, "ratelimit.exceeded")
    assert len(later) == 2
    assert later[1]["refused"] == 10  # the 9 counted during the cooldown, and this one


async def test_quota_and_credits_report_as_quota_exceeded(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="metered")
    quota = await keystead.keys.create(admin, api_id=api.id, quota={"limit": 1, "period": "day"})
    credits = await keystead.keys.create(admin, api_id=api.id, credits={"remaining": 1})
    for created in (quota, credits):
        for _ in range(4):
            await keystead.verify(created.plaintext)
    found = await _events(keystead, admin, "quota.exceeded")
    assert sorted((e["key_id"], e["limit_kind"]) for e in found) == sorted(
        [(quota.key.id, "quota"), (credits.key.id, "credits")]
    )
    assert await _events(keystead, admin, "ratelimit.exceeded") == []
