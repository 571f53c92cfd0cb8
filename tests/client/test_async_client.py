"""The async client against the real HTTP app (in-process), on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from keystead.client import ApiError, AsyncClient, VerifyResult
from keystead.config import Settings
from keystead.http.app import create_app
from keystead.service import Keystead

from .conftest import BASE_URL


@pytest.fixture
async def aclient(settings: Settings) -> AsyncIterator[AsyncClient]:
    async with await Keystead.open(settings=settings) as ks:
        root_key = (await ks.workspaces.init()).root_key.plaintext
        transport = httpx.ASGITransport(app=create_app(ks))
        async with AsyncClient(BASE_URL, root_key, transport=transport) as client:
            yield client


async def test_key_lifecycle(aclient: AsyncClient) -> None:
    api = await aclient.create_api("async", prefix="as")
    expires = datetime.now(UTC) + timedelta(days=1)
    created = await aclient.create_key(
        api["id"], name="acme", permissions=["a.read"], meta={"tier": 2}, expires_at=expires
    )

    good = await aclient.verify(created["key"], permissions="a.read", ip="192.0.2.1")
    lacking = await aclient.verify(created["key"], permissions="a.write")

    assert created["key"].startswith("as_")
    assert isinstance(good, VerifyResult)
    assert (good.valid, good.code, good.key_id, good.api_id) == (
        True,
        "VALID",
        created["id"],
        api["id"],
    )
    assert (good.name, good.permissions, good.meta) == ("acme", ("a.read",), {"tier": 2})
    assert good.expires_at is not None and abs(good.expires_at - expires) < timedelta(seconds=1)
    assert (good.limits, good.leases, good.shed, good.cached) == ((), (), False, False)
    assert (lacking.valid, lacking.code, lacking.reason) == (
        False,
        "INSUFFICIENT_PERMISSIONS",
        "a.write",
    )
    assert (await aclient.disable_key(created["id"]))["state"] == "disabled"
    assert (await aclient.verify(created["key"])).code == "DISABLED"
    assert (await aclient.enable_key(created["id"]))["state"] == "active"
    assert (await aclient.revoke_key(created["id"]))["state"] == "revoked"
    assert (await aclient.verify(created["key"])).code == "REVOKED"
    await aclient.delete_key(created["id"])
    with pytest.raises(ApiError) as caught:
        await aclient.get_key(created["id"])
    assert caught.value.status == 404


async def test_an_unknown_key_is_an_answer(aclient: AsyncClient) -> None:
    malformed = await aclient.verify("not a key")
    raw = await aclient.verify_key("not a key")

    assert malformed == VerifyResult(valid=False, code="MALFORMED")
    assert raw == {"valid": False, "code": "MALFORMED"}


async def test_paging_and_the_audit_log(aclient: AsyncClient) -> None:
    api = await aclient.create_api("paging")
    created = await aclient.create_keys([{"api_id": api["id"], "owner_id": "o"}] * 5)

    every = [key["id"] async for key in aclient.iter_keys(owner_id="o", page_size=2)]
    chain = await aclient.export_audit()

    assert every == sorted(c["id"] for c in created)
    assert [entry["seq"] for entry in chain] == sorted(entry["seq"] for entry in chain)
    assert {entry["action"] for entry in chain} >= {"api.create", "key.create"}
    assert (await aclient.verify_audit())["ok"] is True


async def test_limits_come_back_as_limit_info(aclient: AsyncClient) -> None:
    api = await aclient.create_api("metered")
    rpm = {"name": "rpm", "limit": 1, "duration_s": 60.0}
    key = (await aclient.create_key(api["id"], ratelimits=[rpm]))["key"]

    allowed = await aclient.verify(key)
    refused = await aclient.verify(key)

    assert [(i.name, i.kind, i.limit, i.remaining, i.allowed) for i in allowed.limits] == [
        ("rpm", "rate_limit", 1, 0, True)
    ]
    assert (refused.valid, refused.code, refused.reason) == (False, "RATE_LIMITED", "rpm")
    (limit,) = refused.limits
    assert not limit.allowed and limit.refused
    assert refused.retry_after is not None and refused.retry_after > 0
    assert limit.reset is not None and limit.reset > datetime.now(UTC).timestamp()


async def test_root_keys_and_permissions(aclient: AsyncClient) -> None:
    narrow = await aclient.create_root_key(name="ci", permissions=["keys.verify"])

    async with AsyncClient(BASE_URL, narrow["key"], transport=aclient.http._transport) as ci:
        with pytest.raises(ApiError) as caught:
            await ci.list_apis()
        assert (await ci.verify("ks_nothing")).code == "MALFORMED"

    assert caught.value.status == 403
    assert (await aclient.revoke_root_key(narrow["id"]))["revoked_at"] is not None
    assert await aclient.health() == {"status": "ok"}
