"""The key list's plan, environment and search filters, with pagination and
the principal's scoping, on SQLite and PostgreSQL."""

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.errors import ValidationError
from keystead.service import Keystead


async def _ids(ks: Keystead, who: Principal, limit: int = 2, **filters: object) -> list[str]:
    """Every page of a filtered list, followed to the end."""
    seen: list[str] = []
    cursor = None
    while True:
        page = await ks.keys.list(who, cursor=cursor, limit=limit, **filters)  # type: ignore[arg-type]
        seen.extend(k.id for k in page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


async def test_plan_environment_and_search_filter_every_page(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = (await keystead.apis.create(admin, name="payments")).id
    free = (await keystead.plans.create(admin, name="free")).id
    pro = (await keystead.plans.create(admin, name="pro")).id
    specs: list[dict[str, str | None]] = [
        {"name": "Billing-Prod", "owner_id": "acme-1", "plan_id": free, "environment": "live"},
        {"name": "billing staging", "owner_id": "acme-2", "plan_id": pro, "environment": "test"},
        {"name": "search 100%_done", "owner_id": "globex", "plan_id": free},
        {"name": "reports", "owner_id": "ACME-3", "environment": "live"},
        {"name": None, "owner_id": "xacme", "plan_id": free, "environment": "live"},
    ]
    made = []
    for spec in specs:
        clock.advance(1)
        made.append((await keystead.keys.create(admin, api_id=api, **spec)).key)
    ids = [k.id for k in made]

    assert await _ids(keystead, admin, plan_id=free) == [ids[0], ids[2], ids[4]]
    assert await _ids(keystead, admin, environment="live") == [ids[0], ids[3], ids[4]]
    assert await _ids(keystead, admin, plan_id=free, environment="live") == [ids[0], ids[4]]
    # name: a substring in any case; owner id: a prefix, case kept
    assert await _ids(keystead, admin, search="BILLING") == ids[:2]
    assert await _ids(keystead, admin, search="acme") == ids[:2]
    assert await _ids(keystead, admin, search="ACME") == [ids[3]]
    # LIKE's wildcards are plain characters
    assert await _ids(keystead, admin, search="%_") == [ids[2]]
    assert await _ids(keystead, admin, search="h_1") == []  # as a wildcard: "h 1"
    # start: a prefix of what the key shows
    assert await _ids(keystead, admin, search=made[3].start) == [ids[3]]
    assert await _ids(keystead, admin, search="billing", plan_id=pro) == [ids[1]]
    assert await _ids(keystead, admin, search="nothing-like-it") == []
    unknown_plan = free[:-1] + ("0" if free[-1] != "0" else "1")
    assert await _ids(keystead, admin, plan_id=unknown_plan) == []


async def test_filters_keep_the_principal_scope(keystead: Keystead, clock: ManualClock) -> None:
    boot = await keystead.workspaces.init()
    root = await keystead.root_keys.authenticate(boot.root_key.plaintext)
    api_a = (await keystead.apis.create(root, name="a")).id
    api_b = (await keystead.apis.create(root, name="b")).id
    plan = (await keystead.plans.create(root, name="free")).id
    mine = []
    for api, owner in ((api_a, "acme"), (api_b, "acme"), (api_a, "other")):
        clock.advance(1)
        key = await keystead.keys.create(
            root, api_id=api, owner_id=owner, plan_id=plan, name="shared name"
        )
        mine.append(key.key.id)
    narrow = await keystead.root_keys.create(root, permissions=["keys.read"], api_ids=[api_a])
    by_api = await keystead.root_keys.authenticate(narrow.plaintext)
    assert await _ids(keystead, by_api, plan_id=plan, search="shared") == [mine[0], mine[2]]
    owned = await keystead.root_keys.create(root, permissions=["keys.read"], owner_id="acme")
    by_owner = await keystead.root_keys.authenticate(owned.plaintext)
    assert await _ids(keystead, by_owner, search="shared") == mine[:2]
    assert await _ids(keystead, by_owner, search="oth") == []
    other = await keystead.workspaces.create("other")
    intruder = await keystead.root_keys.authenticate(other.root_key.plaintext)
    assert await _ids(keystead, intruder, search="shared") == []


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"plan_id": "free"}, "plan_id"),
        ({"plan_id": "key_01J0000000000000000000000"}, "plan_id"),
        ({"environment": "Live!"}, "environment"),
        ({"environment": ""}, "environment"),
        ({"search": ""}, "search"),
        ({"search": "a\x00b"}, "search"),
        ({"search": "x" * 201}, "search"),
    ],
)
async def test_bad_filters_name_the_field(
    keystead: Keystead, admin: Principal, filters: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await keystead.keys.list(admin, **filters)  # type: ignore[arg-type]
    assert caught.value.field == field
