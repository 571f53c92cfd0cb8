"""``ks.keys.counters``: a key's limit counters, read without spending."""

from __future__ import annotations

import pytest

from keystead.core.authz import ROOT_PERMISSIONS, Principal
from keystead.errors import Forbidden, NotFound
from keystead.service import Keystead


async def test_counters_follow_verifications_without_spending(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="counted")
    created = await keystead.keys.create(
        admin,
        api_id=api.id,
        ratelimits=[{"name": "minute", "limit": 5, "duration_s": 60}],
        quota={"limit": 100, "period": "day"},
        credits={"remaining": 10},
    )
    for _ in range(2):
        await keystead.verify(created.plaintext)
    first = await keystead.keys.counters(admin, created.key.id)
    again = await keystead.keys.counters(admin, created.key.id)
    assert first == again  # reading spends nothing
    assert first["ratelimits"] == [{"name": "minute", "limit": 5, "remaining": 3}]
    assert first["quota"] == {"used": 2, "limit": 100}
    assert first["credits_remaining"] == 8


async def test_counters_need_keys_read_and_a_visible_key(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="hidden")
    created = await keystead.keys.create(admin, api_id=api.id)
    blind = await keystead.root_keys.create(
        admin, permissions=[p for p in ROOT_PERMISSIONS if p != "keys.read"]
    )
    other = await keystead.apis.create(admin, name="other")
    narrow = await keystead.root_keys.create(admin, permissions=["keys.read"], api_ids=[other.id])
    with pytest.raises(Forbidden):
        await keystead.keys.counters(
            await keystead.root_keys.authenticate(blind.plaintext), created.key.id
        )
    with pytest.raises(NotFound):
        await keystead.keys.counters(
            await keystead.root_keys.authenticate(narrow.plaintext), created.key.id
        )
    assert await keystead.keys.counters(admin, created.key.id) == {
        "ratelimits": [],
        "quota": None,
        "credits_remaining": None,
    }
