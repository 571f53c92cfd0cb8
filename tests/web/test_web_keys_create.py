"""``/ui/keys/new``: a key is created with what the form holds and revealed
once; the form and its POST need ``keys.create``; a POST needs the CSRF token."""

from __future__ import annotations

import re

from keystead.core.models import Code, VerifyContext
from keystead.service import Keystead

from .keyskit import browser

REVEALED = re.compile(r'readonly value="([^"]+)"')


async def test_create_reveals_the_key_once(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="shop", prefix="shop")
        plan = await keystead.plans.create(b.operator, name="pro")
        form = await b.client.get("/ui/keys/new")
        assert form.status_code == 200
        assert 'name="permissions"' in form.text
        response = await b.post(
            "/ui/keys/new",
            {
                "api_id": api.id,
                "name": "billing-prod",
                "owner_id": "acme",
                "environment": "live",
                "plan_id": plan.id,
                "permissions": "documents.read\ndocuments.write",
                "r_ips_allow": "10.0.0.0/8, 192.0.2.7",
                "r_referrers": "https://*.example.com",
                "rl_name": ["minute", "", ""],
                "rl_limit": ["60", "", ""],
                "rl_duration_s": ["60", "", ""],
                "quota_limit": "1000",
                "quota_period": "day",
                "credits_remaining": "50",
                "expires_at": "2030-01-01T00:00",
                "meta": '{"team": "billing"}',
                "rotate_every_days": "90",
            },
        )
        assert response.status_code == 201, response.text
        assert "location" not in response.headers
        assert response.headers["cache-control"] == "no-store"
        found = REVEALED.search(response.text)
        assert found is not None
        plaintext = found.group(1)
        assert plaintext.startswith("shop_live_")
        assert "will not be shown again" in response.text or "never again" in response.text
        page = (await keystead.keys.list(b.operator, api_id=api.id)).items
        assert len(page) == 1
        key = page[0]
        assert (key.name, key.owner_id, key.environment, key.plan_id) == (
            "billing-prod", "acme", "live", plan.id,
        )  # fmt: skip
        assert key.permissions == ("documents.read", "documents.write")
        assert key.restrictions is not None
        assert key.restrictions["ips"]["allow"] == ["10.0.0.0/8", "192.0.2.7"]
        assert key.limits["ratelimits"][0]["limit"] == 60
        assert key.limits["quota"]["limit"] == 1000
        assert key.limits["credits"]["remaining"] == 50
        assert key.meta == {"team": "billing"}
        assert key.rotation_policy is not None
        assert key.rotation_policy["max_age_s"] == 90 * 86_400
        assert key.expires_at is not None and key.expires_at.year == 2030
        seen_from = VerifyContext(ip="10.1.2.3", referrer="https://app.example.com/")
        assert (await keystead.verify(plaintext, seen_from)).code == Code.VALID
        pages = ("/ui/keys", f"/ui/keys/{key.id}", f"/ui/keys/{key.id}/edit", "/ui/keys/new")
        for url in (*pages, "/ui/", "/ui/apis", f"/ui/apis/{api.id}"):
            again = await b.client.get(url)
            assert again.status_code == 200, url
            assert plaintext not in again.text, url
            assert plaintext[len(key.start) :] not in again.text, url


async def test_a_bad_field_shows_the_form_again_with_its_message(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="shop")
        response = await b.post(
            "/ui/keys/new", {"api_id": api.id, "name": "x<b>y", "meta": "[1, 2]"}
        )
        assert response.status_code == 422
        assert "meta is a JSON object" in response.text
        assert 'value="x&lt;b&gt;y"' in response.text
        bad_ip = await b.post("/ui/keys/new", {"api_id": api.id, "r_ips_allow": "10.0.0.1/8"})
        assert bad_ip.status_code == 422
        assert 'role="alert"' in bad_ip.text
        assert (await keystead.keys.list(b.operator)).items == []


async def test_without_keys_create_there_is_no_form_and_the_post_is_refused(
    keystead: Keystead,
) -> None:
    async with browser(keystead, permissions=["keys.read", "apis.read"]) as b:
        api = await keystead.apis.create(b.operator, name="shop")
        listed = await b.client.get("/ui/keys")
        assert listed.status_code == 200
        assert 'href="/ui/keys/new' not in listed.text
        form = await b.client.get("/ui/keys/new")
        assert form.status_code == 403
        assert "keys.create" in form.text
        refused = await b.post("/ui/keys/new", {"api_id": api.id, "name": "sneaky"})
        assert refused.status_code == 403
        assert "keys.create" in refused.text
        assert (await keystead.keys.list(b.operator)).items == []


async def test_a_post_without_the_csrf_token_changes_nothing(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="shop")
        key = await keystead.keys.create(b.operator, api_id=api.id, name="kept")
        no_token = await b.client.post("/ui/keys/new", data={"api_id": api.id, "name": "forged"})
        assert no_token.status_code == 403
        wrong = await b.client.post(
            f"/ui/keys/{key.key.id}/revoke", data={"csrf": b.csrf[:-2] + "xx"}
        )
        assert wrong.status_code == 403
        assert [k.name for k in (await keystead.keys.list(b.operator)).items] == ["kept"]
        assert (await keystead.keys.get(b.operator, key.key.id)).revoked_at is None
