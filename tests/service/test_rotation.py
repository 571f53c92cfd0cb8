"""Rotation with overlap, on SQLite and PostgreSQL: the successor inherits the
key, the old key works until its grace ends, then names its successor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code, CreatedKey
from keystead.errors import Conflict, Forbidden, ValidationError
from keystead.service import Keystead


async def _key(ks: Keystead, admin: Principal, **fields: object) -> CreatedKey:
    api = await ks.apis.create(admin, name="payments", prefix="pay")
    role = await ks.apis.put_role(admin, api.id, "reader", permissions=["docs.read"])
    assert role.name == "reader"
    return await ks.keys.create(
        admin,
        api_id=api.id,
        name="billing",
        owner_id="acme",
        meta={"tier": "gold"},
        permissions=["docs.write"],
        roles=["reader"],
        restrictions={"ips": {"allow": ["10.0.0.0/8"]}},
        **fields,
    )


async def test_successor_inherits_and_old_key_overlaps_until_grace_ends(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    old = await _key(
        keystead, admin, expires_at=datetime.fromtimestamp(clock.now() + 30 * 86400, UTC)
    )
    rotation = await keystead.rotation.rotate(admin, old.key.id, grace_period_s=3600)
    new = rotation.new.key
    assert rotation.new.plaintext != old.plaintext
    assert new.start.startswith("pay_") and new.prefix == old.key.prefix
    for name in ("api_id", "owner_id", "name", "meta", "permissions", "roles", "restrictions"):
        assert getattr(new, name) == getattr(old.key, name), name
    assert (new.rotated_from, rotation.old.rotated_to) == (old.key.id, new.id)
    assert new.lineage_id == old.key.id
    # the successor keeps the old key's lifetime (30 days), counted from now
    assert new.expires_at == datetime.fromtimestamp(clock.now() + 30 * 86400, UTC)
    assert rotation.grace_ends_at == datetime.fromtimestamp(clock.now() + 3600, UTC)

    from keystead.core.models import VerifyContext

    inside = VerifyContext(ip="10.1.2.3")
    assert (await keystead.verify(old.plaintext, inside)).code is Code.VALID
    assert (await keystead.verify(rotation.new.plaintext, inside)).code is Code.VALID
    clock.advance(3600)
    after = await keystead.verify(old.plaintext, inside)
    assert after.code is Code.EXPIRED
    assert after.reason == "rotated"
    assert after.key is not None and after.key.rotated_to == new.id
    assert (await keystead.verify(rotation.new.plaintext, inside)).code is Code.VALID


async def test_grace_zero_is_an_emergency_rotation(keystead: Keystead, admin: Principal) -> None:
    old = await _key(keystead, admin)
    assert (await keystead.verify(old.plaintext)).code is Code.FORBIDDEN  # warm the cache
    rotation = await keystead.rotation.rotate(admin, old.key.id, grace_period_s=0)
    answer = await keystead.verify(old.plaintext)
    assert (answer.code, answer.reason) == (Code.EXPIRED, "rotated")
    assert rotation.event_data["emergency"] is True


async def test_old_expires_at_sets_the_end_and_bad_input_is_refused(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    old = await _key(keystead, admin)
    end = datetime.fromtimestamp(clock.now() + 120, UTC)
    with pytest.raises(ValidationError):
        await keystead.rotation.rotate(admin, old.key.id, grace_period_s=5, old_expires_at=end)
    with pytest.raises(ValidationError):
        await keystead.rotation.rotate(admin, old.key.id, grace_period_s=-1)
    with pytest.raises(ValidationError):
        await keystead.rotation.rotate(
            admin, old.key.id, old_expires_at=end - timedelta(seconds=600)
        )
    rotation = await keystead.rotation.rotate(admin, old.key.id, old_expires_at=end.isoformat())
    assert rotation.old.expires_at == end == rotation.grace_ends_at
    # the failed attempts changed nothing: one successor only
    assert rotation.old.rotated_to == rotation.new.key.id


async def test_default_grace_comes_from_the_policy(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    old = await _key(keystead, admin, rotation_policy={"max_age_s": 86400, "grace_period_s": 600})
    rotation = await keystead.rotation.rotate(admin, old.key.id)
    assert rotation.grace_ends_at == datetime.fromtimestamp(clock.now() + 600, UTC)
    assert rotation.new.key.rotation_policy == old.key.rotation_policy
    plain = await keystead.keys.create(admin, api_id=old.key.api_id)
    default = await keystead.rotation.rotate(admin, plain.key.id)
    assert default.grace_ends_at == datetime.fromtimestamp(clock.now() + 86400, UTC)


async def test_a_key_is_rotated_at_most_once(keystead: Keystead, admin: Principal) -> None:
    old = await _key(keystead, admin)
    results = await asyncio.gather(
        *(keystead.rotation.rotate(admin, old.key.id, grace_period_s=60) for _ in range(5)),
        return_exceptions=True,
    )
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(done) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    page = await keystead.keys.list(admin, api_id=old.key.api_id)
    assert len(page.items) == 2  # the old key and exactly one successor


async def test_revoked_keys_and_missing_permission_are_refused(
    keystead: Keystead, admin: Principal
) -> None:
    old = await _key(keystead, admin)
    reader = await keystead.root_keys.authenticate(
        (await keystead.root_keys.create(admin, permissions=["keys.read"])).plaintext
    )
    with pytest.raises(Forbidden):
        await keystead.rotation.rotate(reader, old.key.id)
    await keystead.keys.revoke(admin, old.key.id)
    with pytest.raises(Conflict):
        await keystead.rotation.rotate(admin, old.key.id)


async def test_credits_and_rate_limits_carry_over(keystead: Keystead, admin: Principal) -> None:
    api = await keystead.apis.create(admin, name="metered")
    plain = await keystead.keys.create(
        admin,
        api_id=api.id,
        credits={"remaining": 10},
        ratelimits=[{"name": "rps", "limit": 3, "duration_s": 60}],
    )
    for _ in range(2):
        assert (await keystead.verify(plain.plaintext)).valid
    rotation = await keystead.rotation.rotate(admin, plain.key.id, grace_period_s=60)
    assert await keystead.keys.credits(admin, rotation.new.key.id) == 8
    # the old key (in its grace) and the new one spend one balance and one window
    assert (await keystead.verify(plain.plaintext)).valid
    refused = await keystead.verify(rotation.new.plaintext)
    assert (refused.code, refused.reason) == (Code.RATE_LIMITED, "rps")  # 3/min across both
    assert await keystead.keys.credits(admin, rotation.new.key.id) == 7


async def test_rotation_is_an_outbox_event_without_key_material(
    keystead: Keystead, admin: Principal
) -> None:
    old = await _key(keystead, admin)
    rotation = await keystead.rotation.rotate(
        admin, old.key.id, grace_period_s=0, cause={"source": "operator", "reason": "test"}
    )
    events = await keystead.store.list_events(admin.workspace_id, after=None, limit=100)
    rotated = [e for e in events if e.type == "key.rotated"]
    assert len(rotated) == 1
    data = rotated[0].data
    assert (data["key_id"], data["new_key_id"]) == (old.key.id, rotation.new.key.id)
    assert data["cause"] == {"source": "operator", "reason": "test"}
    text = repr([e.data for e in events])
    assert old.plaintext not in text and rotation.new.plaintext not in text
    assert sorted(e.type for e in events) == ["key.created", "key.rotated"]
