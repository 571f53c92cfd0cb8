"""``owners.overview``: every owner id keys carry merged with the owners that have
limits, paged by id, on SQLite and PostgreSQL, and narrowed as owners are."""

from __future__ import annotations

from dataclasses import replace

from keystead.core.authz import Principal
from keystead.service import Keystead
from keystead.service.owners import OwnerRow

DAY = [{"name": "day", "limit": 1000, "duration_s": 86400}]


def _summary(rows: list[OwnerRow]) -> list[tuple[str, int, bool]]:
    return [(r.owner_id, r.keys_held, r.owner is not None) for r in rows]


async def test_key_holders_and_limited_owners_merge_in_pages(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="owners", prefix="ow")
    for owner_id, count in (("acme", 2), ("carol", 1), ("zeta/eu", 1)):
        for _ in range(count):
            await keystead.keys.create(admin, api_id=api.id, owner_id=owner_id)
    revoked = await keystead.keys.create(admin, api_id=api.id, owner_id="carol")
    await keystead.keys.revoke(admin, revoked.key.id)
    await keystead.keys.create(admin, api_id=api.id)  # no owner: not listed
    await keystead.owners.put(admin, "bob", ratelimits=DAY)  # limits, no key
    await keystead.owners.put(admin, "acme", ratelimits=DAY)  # limits and keys

    whole = await keystead.owners.overview(admin)
    assert _summary(whole.items) == [
        ("acme", 2, True),
        ("bob", 0, True),
        ("carol", 1, False),
        ("zeta/eu", 1, False),
    ]
    assert whole.next_cursor is None

    seen: list[OwnerRow] = []
    cursor = None
    for _ in range(4):
        page = await keystead.owners.overview(admin, cursor=cursor, limit=1)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert _summary(seen) == _summary(whole.items)

    two = await keystead.owners.overview(admin, limit=2)
    assert [r.owner_id for r in two.items] == ["acme", "bob"] and two.next_cursor == "bob"
    rest = await keystead.owners.overview(admin, cursor="bob", limit=2)
    assert [r.owner_id for r in rest.items] == ["carol", "zeta/eu"] and rest.next_cursor is None


async def test_narrowed_principals_see_what_owners_show_them(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="narrow", prefix="nw")
    await keystead.keys.create(admin, api_id=api.id, owner_id="acme")
    await keystead.keys.create(admin, api_id=api.id, owner_id="bob")
    await keystead.owners.put(admin, "carol", ratelimits=DAY)
    own = await keystead.owners.overview(replace(admin, owner_id="acme"))
    assert _summary(own.items) == [("acme", 1, False)]
    by_api = await keystead.owners.overview(replace(admin, api_ids=frozenset({api.id})))
    assert by_api.items == [] and by_api.next_cursor is None
