from datetime import UTC, datetime, timedelta

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.service import Keystead


async def _api(ks: Keystead, admin: Principal, **kw: object) -> str:
    api = await ks.apis.create(admin, name=str(kw.pop("name", "payments")), **kw)  # type: ignore[arg-type]
    return api.id


async def test_create_returns_plaintext_once_and_stores_fields(
    keystead: Keystead, admin: Principal
) -> None:
    api_id = await _api(keystead, admin, prefix="acme")
    created = await keystead.keys.create(
        admin,
        api_id=api_id,
        name="ci",
        owner_id="cust_1",
        meta={"plan": "pro"},
        permissions=["documents.read", "documents.read"],
        environment="test",
        expires_at="2030-01-01T00:00:00Z",
    )
    assert created.plaintext.startswith("acme_test_")
    assert created.key.start == created.plaintext[:14]
    assert created.key.permissions == ("documents.read",)
    fetched = await keystead.keys.get(admin, created.key.id)
    assert fetched == created.key
    assert fetched.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert "plaintext" not in repr(created)


async def test_api_defaults_apply_to_new_keys(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(
        admin,
        name="defaults",
        key_defaults={"permissions": ["a.read"], "expires_in_s": 3600, "meta": {"tier": "free"}},
    )
    created = await keystead.keys.create(admin, api_id=api.id)
    assert created.key.permissions == ("a.read",)
    assert created.key.meta == {"tier": "free"}
    assert created.key.expires_at == datetime.fromtimestamp(clock.now() + 3600, UTC)
    explicit = await keystead.keys.create(admin, api_id=api.id, permissions=[], expires_at=None)
    assert explicit.key.permissions == ()
    assert explicit.key.expires_at is None


async def test_update_keeps_omitted_and_clears_null(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    key = (
        await keystead.keys.create(
            admin, api_id=api_id, name="n", owner_id="o", meta={"a": 1}, permissions=["x"]
        )
    ).key
    updated = await keystead.keys.update(admin, key.id, {"name": "renamed", "owner_id": None})
    assert updated.name == "renamed"
    assert updated.owner_id is None
    assert updated.meta == {"a": 1}
    assert updated.permissions == ("x",)
    cleared = await keystead.keys.update(admin, key.id, {"meta": None, "permissions": None})
    assert cleared.meta == {}
    assert cleared.permissions == ()
    assert cleared.name == "renamed"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bogus": 1}, "bogus"),
        ({"permissions": "x"}, "permissions"),
        ({"permissions": ["bad perm"]}, "permissions[0]"),
        ({"meta": [1]}, "meta"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"enabled": "yes"}, "enabled"),
        ({"restrictions": {"ips": {"allow": ["300.1.1.1"]}}}, "restrictions.ips.allow[0]"),
        ({"roles": ["ghost"]}, "roles[0]"),
        ({"name": "x" * 201}, "name"),
    ],
)
async def test_update_validation_names_the_field(
    keystead: Keystead, admin: Principal, changes: dict[str, object], field: str
) -> None:
    api_id = await _api(keystead, admin)
    key = (await keystead.keys.create(admin, api_id=api_id)).key
    with pytest.raises(ValidationError) as info:
        await keystead.keys.update(admin, key.id, changes)
    assert info.value.field == field
    assert await keystead.keys.get(admin, key.id) == key  # nothing was written


async def test_window_must_be_ordered(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    with pytest.raises(ValidationError, match="after not_before"):
        await keystead.keys.create(
            admin, api_id=api_id, not_before="2031-01-01T00:00:00Z", expires_at="2030-01-01"
        )


async def test_revocation_is_final(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    created = await keystead.keys.create(admin, api_id=api_id)
    revoked = await keystead.keys.revoke(admin, created.key.id)
    assert revoked.revoked_at is not None
    assert (await keystead.keys.revoke(admin, created.key.id)).revoked_at == revoked.revoked_at
    with pytest.raises(Conflict):
        await keystead.keys.enable(admin, created.key.id)
    with pytest.raises(Conflict):
        await keystead.keys.update(admin, created.key.id, {"enabled": True})
    assert (await keystead.verify(created.plaintext)).code is Code.REVOKED


async def test_change_takes_effect_at_once_on_this_node(
    keystead: Keystead, admin: Principal
) -> None:
    api_id = await _api(keystead, admin)
    created = await keystead.keys.create(admin, api_id=api_id, permissions=["a"])
    assert (await keystead.verify(created.plaintext)).valid  # now cached
    await keystead.keys.disable(admin, created.key.id)
    assert (await keystead.verify(created.plaintext)).code is Code.DISABLED
    await keystead.keys.enable(admin, created.key.id)
    assert (await keystead.verify(created.plaintext)).valid
    await keystead.keys.update(admin, created.key.id, {"permissions": ["b"]})
    assert (await keystead.verify(created.plaintext)).permissions == ("b",)
    await keystead.keys.delete(admin, created.key.id)
    assert (await keystead.verify(created.plaintext)).code is Code.NOT_FOUND
    with pytest.raises(NotFound):
        await keystead.keys.get(admin, created.key.id)


async def test_role_change_reaches_cached_keys(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    await keystead.apis.put_role(admin, api_id, "reader", ["documents.read"])
    created = await keystead.keys.create(admin, api_id=api_id, roles=["reader"])
    assert (await keystead.verify(created.plaintext)).permissions == ("documents.read",)
    await keystead.apis.put_role(admin, api_id, "reader", ["documents.*"])
    assert (await keystead.verify(created.plaintext)).permissions == ("documents.*",)


async def test_list_filters_and_paginates(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api_a = await _api(keystead, admin, name="a")
    api_b = await _api(keystead, admin, name="b")
    made = []
    for i in range(7):
        clock.advance(1)
        made.append((await keystead.keys.create(admin, api_id=api_a, owner_id=f"o{i % 2}")).key.id)
    await keystead.keys.create(admin, api_id=api_b)
    seen: list[str] = []
    cursor = None
    while True:
        page = await keystead.keys.list(admin, api_id=api_a, cursor=cursor, limit=3)
        seen.extend(k.id for k in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == made
    owners = await keystead.keys.list(admin, owner_id="o1")
    assert [k.id for k in owners.items] == made[1::2]
    await keystead.keys.disable(admin, made[0])
    await keystead.keys.revoke(admin, made[1])
    await keystead.keys.update(
        admin, made[2], {"expires_at": datetime.fromtimestamp(clock.now() - 1, UTC)}
    )
    await keystead.keys.update(
        admin, made[3], {"not_before": datetime.fromtimestamp(clock.now() + 60, UTC)}
    )
    by_state = {
        state: [k.id for k in (await keystead.keys.list(admin, state=state)).items]
        for state in ("disabled", "revoked", "expired", "pending")
    }
    assert by_state == {
        "disabled": [made[0]],
        "revoked": [made[1]],
        "expired": [made[2]],
        "pending": [made[3]],
    }
    active = (await keystead.keys.list(admin, api_id=api_a, state="active")).items
    assert [k.id for k in active] == made[4:]
    with pytest.raises(ValidationError):
        await keystead.keys.list(admin, limit=0)
    with pytest.raises(ValidationError):
        await keystead.keys.list(admin, cursor="not-a-cursor")


async def test_batch_create_is_all_or_nothing(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    with pytest.raises(ValidationError):
        await keystead.keys.create_many(
            admin, [{"api_id": api_id}, {"api_id": api_id, "permissions": ["bad perm"]}]
        )
    assert (await keystead.keys.list(admin)).items == []
    created = await keystead.keys.create_many(admin, [{"api_id": api_id}] * 50)
    assert len({c.plaintext for c in created}) == 50
    assert len((await keystead.keys.list(admin, limit=1000)).items) == 50


async def test_workspaces_are_isolated(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    created = await keystead.keys.create(admin, api_id=api_id)
    other = await keystead.workspaces.create("other")
    intruder = await keystead.root_keys.authenticate(other.root_key.plaintext)
    with pytest.raises(NotFound):
        await keystead.keys.get(intruder, created.key.id)
    with pytest.raises(NotFound):
        await keystead.apis.get(intruder, api_id)
    with pytest.raises(NotFound):
        await keystead.keys.create(intruder, api_id=api_id)
    assert (await keystead.keys.list(intruder)).items == []
    verdict = await keystead.verify(created.plaintext, principal=intruder)
    assert verdict.code is Code.NOT_FOUND
    assert verdict.key is None


async def test_root_key_permissions_and_api_scope(keystead: Keystead) -> None:
    boot = await keystead.workspaces.init()
    root = await keystead.root_keys.authenticate(boot.root_key.plaintext)
    api_a = (await keystead.apis.create(root, name="a")).id
    api_b = (await keystead.apis.create(root, name="b")).id
    key_b = await keystead.keys.create(root, api_id=api_b)
    narrow = await keystead.root_keys.create(
        root, permissions=["keys.read", "keys.verify", "root_keys.create"], api_ids=[api_a]
    )
    scoped = await keystead.root_keys.authenticate(narrow.plaintext)
    with pytest.raises(Forbidden):
        await keystead.keys.create(scoped, api_id=api_a)
    with pytest.raises(NotFound):
        await keystead.keys.get(scoped, key_b.key.id)
    assert (await keystead.verify(key_b.plaintext, principal=scoped)).code is Code.NOT_FOUND
    with pytest.raises(ValidationError, match="does not hold"):
        await keystead.root_keys.create(scoped, permissions=["keys.delete"])
    await keystead.root_keys.revoke(root, narrow.root_key.id)
    from keystead.errors import Unauthorized

    with pytest.raises(Unauthorized):
        await keystead.root_keys.authenticate(narrow.plaintext)


async def test_init_happens_once(keystead: Keystead) -> None:
    from keystead.errors import AlreadyInitialised

    assert not await keystead.workspaces.is_initialised()
    boot = await keystead.workspaces.init()
    assert boot.root_key.plaintext.startswith("ksroot_")
    assert await keystead.workspaces.is_initialised()
    with pytest.raises(AlreadyInitialised):
        await keystead.workspaces.init()


async def test_last_used_is_recorded_off_the_hot_path(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api_id = await _api(keystead, admin)
    created = await keystead.keys.create(admin, api_id=api_id)
    assert (await keystead.verify(created.plaintext)).valid
    assert (await keystead.keys.get(admin, created.key.id)).last_used_at is None
    await keystead.flush()
    used = (await keystead.keys.get(admin, created.key.id)).last_used_at
    assert used == datetime.fromtimestamp(clock.now(), UTC)
    clock.advance(timedelta(hours=1).total_seconds())
    await keystead.verify(created.plaintext)
    await keystead.flush()
    later = (await keystead.keys.get(admin, created.key.id)).last_used_at
    assert later is not None and later - used == timedelta(hours=1)


async def test_nul_characters_are_refused(keystead: Keystead, admin: Principal) -> None:
    api_id = await _api(keystead, admin)
    specs: list[tuple[dict[str, object], str]] = [
        ({"api_id": api_id, "name": "a\x00b"}, "name"),
        ({"api_id": api_id, "meta": {"k": "v\x00"}}, "meta"),
    ]
    for spec, field in specs:
        with pytest.raises(ValidationError) as info:
            await keystead.keys.create(admin, spec)
        assert info.value.field == field


async def test_ping_reaches_the_store(keystead: Keystead) -> None:
    await keystead.ping()
