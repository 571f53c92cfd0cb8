"""``/v1/portal``: one-time portal links and the portal's branding over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from httpkit import World, assert_problem, open_world

from keystead.errors import Unauthorized
from keystead.service import Keystead


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def test_portal_link_is_created_once_and_redeemed_once(world: World) -> None:
    c, h = world.client, world.auth()
    body = {"owner_id": "cust_<script>", "return_url": "https://example.com/back"}
    response = await c.post("/v1/portal/sessions", json=body, headers=h)
    assert response.status_code == 201, response.text
    link = response.json()
    assert set(link) == {"url", "expires_at", "owner_id"}
    assert link["owner_id"] == "cust_<script>" and link["expires_at"].endswith("Z")
    token = parse_qs(urlsplit(link["url"]).query)["token"][0]
    assert token.startswith("ksportal_")
    _, session = await world.ks.web_sessions.redeem_portal_link(token, ip=None, user_agent=None)
    assert session.owner_id == "cust_<script>"
    with pytest.raises(Unauthorized):
        await world.ks.web_sessions.redeem_portal_link(token, ip=None, user_agent=None)
    # the token appears nowhere afterwards (audit log included)
    audit = await c.get("/v1/audit", headers=h)
    assert audit.status_code == 200 and token not in audit.text
    assert "portal.link_create" in audit.text


async def test_portal_link_refuses_bad_and_wider_requests(world: World) -> None:
    c, h = world.client, world.auth()
    narrow = world.auth(await world.root_key_with(["portal.create", "keys.read"]))
    wider = {"owner_id": "c", "permissions": ["keys.create"]}
    assert_problem(await c.post("/v1/portal/sessions", json=wider, headers=narrow), 403)
    root = {"owner_id": "c", "permissions": ["root_keys.create"]}
    problem = assert_problem(await c.post("/v1/portal/sessions", json=root, headers=h), 422)
    assert "portal link grants only" in problem["detail"]
    for bad in ({}, {"owner_id": ""}, {"owner_id": "c", "extra": 1},
                {"owner_id": "c", "return_url": "ftp://x.test/"}):  # fmt: skip
        assert_problem(await c.post("/v1/portal/sessions", json=bad, headers=h), 422)
    ok = await c.post("/v1/portal/sessions", json={"owner_id": "c"}, headers=narrow)
    assert ok.status_code == 201


async def test_branding_get_put(world: World) -> None:
    c, h = world.client, world.auth()
    default = (await c.get("/v1/portal/branding", headers=h)).json()
    assert default == {"name": "Keystead", "logo_url": None, "accent": "#2457c5",
                       "max_keys_per_owner": None, "key_defaults": {}}  # fmt: skip
    change = {"name": "Acme", "logo_url": "https://acme.test/logo.png", "accent": "#112233",
              "max_keys_per_owner": 5, "key_defaults": {"expires_in_s": 3600}}  # fmt: skip
    response = await c.put("/v1/portal/branding", json=change, headers=h)
    assert response.status_code == 200, response.text
    assert response.json() == change
    assert (await c.get("/v1/portal/branding", headers=h)).json() == change
    reset = (await c.put("/v1/portal/branding", json={"logo_url": None}, headers=h)).json()
    assert reset["logo_url"] is None and reset["name"] == "Acme"
    for body, field in (
        ({"accent": "blue"}, "accent"),
        ({"logo_url": "http://acme.test/l.png"}, "logo_url"),
        ({"max_keys_per_owner": 0}, "max_keys_per_owner"),
        ({"key_defaults": {"expires_in_s": "soon"}}, "key_defaults.expires_in_s"),
    ):
        problem = assert_problem(await c.put("/v1/portal/branding", json=body, headers=h), 422)
        assert field in problem["detail"] or problem.get("field") == field, problem
    assert_problem(await c.put("/v1/portal/branding", json={"bogus": 1}, headers=h), 422)
    assert_problem(await c.put("/v1/portal/branding", json={"max_keys_per_owner": "5"},
                               headers=h), 422)  # fmt: skip


async def test_blocked_ip_gets_429(world: World) -> None:
    sessions = world.ks.web_sessions
    ip = "192.0.2.55"
    for _ in range(world.ks.settings.failed_attempts_limit):
        with pytest.raises(Unauthorized):
            await sessions.sign_in("not a key", ip=ip, user_agent=None)
    with pytest.raises(Exception) as refused:
        await sessions.redeem_portal_link("ksportal_guess", ip=ip, user_agent=None)
    assert getattr(refused.value, "status", None) == 429
