"""The workspace's busiest keys and owners (``analytics.top`` with no scope named):
read from the hour rollups, across every API for an unnarrowed root key and
across the keys it sees for a narrowed one; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.core.permissions import GrantSet
from keystead.errors import Forbidden, ValidationError
from keystead.service import Keystead

H0 = 1_749_999_600  # an hour start, just before the clock fixture's NOW
CTX = VerifyContext(ip="1.1.1.1")


async def _two_apis(ks: Keystead, admin: Principal, clock: ManualClock) -> dict[str, str]:
    """carol: 4 uses of a key on API a and 3 on API b; dave: 5 on API b (2 in the
    hour before H0)."""
    a = await ks.apis.create(admin, name="a")
    b = await ks.apis.create(admin, name="b")
    carol_a = await ks.keys.create(admin, api_id=a.id, owner_id="carol")
    carol_b = await ks.keys.create(admin, api_id=b.id, owner_id="carol")
    dave_b = await ks.keys.create(admin, api_id=b.id, owner_id="dave")
    clock.set(H0 - 600)
    for _ in range(2):
        assert (await ks.verify(dave_b.plaintext, CTX)).valid
    clock.set(H0 + 60)
    for key, n in ((carol_a, 4), (carol_b, 3), (dave_b, 3)):
        for _ in range(n):
            assert (await ks.verify(key.plaintext, CTX)).valid
    clock.set(H0 + 2 * 3600)
    await ks.flush()
    return {"a": a.id, "b": b.id, "carol_a": carol_a.key.id, "carol_b": carol_b.key.id,
            "dave_b": dave_b.key.id}  # fmt: skip


async def test_busiest_keys_and_owners_of_the_workspace(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    ids = await _two_apis(keystead, admin, clock)
    keys = await keystead.analytics.top(admin, by="key_id", start=H0 - 3600)
    assert (keys.scope, keys.scope_id) == ("workspace", admin.workspace_id)
    assert keys.items == [(ids["dave_b"], 5), (ids["carol_a"], 4), (ids["carol_b"], 3)]
    owners = await keystead.analytics.top(admin, by="owner_id", start=H0 - 3600, limit=1)
    assert owners.items == [("carol", 7)]
    # whole hours: a start within H0's hour counts that hour, not the one before
    later = await keystead.analytics.top(admin, by="owner_id", start=H0 + 1800)
    assert later.items == [("carol", 7), ("dave", 3)]
    assert (await keystead.analytics.top(admin, by="key_id", start=H0 + 3600)).items == []
    # the same counts as the raw records of each API give
    per_api: dict[str, int] = {}
    for api in (ids["a"], ids["b"]):
        top = await keystead.analytics.top(admin, api_id=api, by="owner_id", start=H0 - 3600)
        for owner, n in top.items:
            per_api[owner] = per_api.get(owner, 0) + n
    assert per_api == {"carol": 7, "dave": 5}


async def test_busiest_of_a_narrowed_reader_counts_the_keys_it_sees(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    ids = await _two_apis(keystead, admin, clock)
    expected = {
        replace(admin, api_ids=frozenset({ids["a"]})): (
            [(ids["carol_a"], 4)], [("carol", 4)]
        ),
        replace(admin, api_ids=frozenset({ids["b"]})): (
            [(ids["dave_b"], 5), (ids["carol_b"], 3)], [("dave", 5), ("carol", 3)]
        ),
        replace(admin, owner_id="carol"): (
            [(ids["carol_a"], 4), (ids["carol_b"], 3)], [("carol", 7)]
        ),
    }  # fmt: skip
    for principal, (busiest_keys, busiest_owners) in expected.items():
        keys = await keystead.analytics.top(principal, by="key_id", start=H0 - 3600)
        owners = await keystead.analytics.top(principal, by="owner_id", start=H0 - 3600)
        assert (keys.items, owners.items) == (busiest_keys, busiest_owners)
    other = await keystead.workspaces.create("other")
    outsider = replace(admin, workspace_id=other.workspace.id)
    assert (await keystead.analytics.top(outsider, by="key_id", start=H0 - 3600)).items == []
    with pytest.raises(Forbidden):
        await keystead.analytics.top(replace(admin, grants=GrantSet()), by="key_id")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [({"by": "ip"}, "scope"), ({"by": "key_id", "after_leak": True}, "after_leak"),
     ({"by": "owner_id", "start": H0, "end": H0}, "from"), ({"by": "key_id", "limit": 0}, "limit")],
)  # fmt: skip
async def test_busiest_rejects_bad_input(
    keystead: Keystead, admin: Principal, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        await keystead.analytics.top(admin, **arguments)  # type: ignore[arg-type]
    assert raised.value.field == field
