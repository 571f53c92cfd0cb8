"""``/ui/apis``: create an API with key defaults, and edit it."""

from __future__ import annotations

from keystead.service import Keystead

from .keyskit import browser


async def test_create_and_edit_an_api(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        created = await b.post(
            "/ui/apis",
            {
                "name": "Docs",
                "prefix": "docs",
                "d_permissions": "docs.read",
                "d_expires_in_days": "30",
                "d_meta": '{"tier": "free"}',
            },
        )
        assert created.status_code == 303, created.text
        (api,) = await keystead.apis.list(b.operator)
        assert created.headers["location"] == f"/ui/apis/{api.id}?done=created"
        assert api.prefix == "docs"
        assert api.key_defaults == {
            "permissions": ["docs.read"],
            "expires_in_s": 30 * 86_400,
            "meta": {"tier": "free"},
        }
        page = await b.client.get(f"/ui/apis/{api.id}")
        assert page.status_code == 200
        assert 'value="30"' in page.text
        saved = await b.post(f"/ui/apis/{api.id}", {"name": "Documents", "d_permissions": ""})
        assert saved.status_code == 303
        api = await keystead.apis.get(b.operator, api.id)
        assert (api.name, api.key_defaults) == ("Documents", {})
        bad = await b.post("/ui/apis", {"name": "x", "prefix": "9bad"})
        assert bad.status_code == 422
        assert 'value="9bad"' in bad.text
        listed = await b.client.get("/ui/apis")
        assert "Documents" in listed.text


async def test_without_apis_create_there_is_no_form(keystead: Keystead) -> None:
    async with browser(keystead, permissions=["apis.read", "keys.read"]) as b:
        page = await b.client.get("/ui/apis")
        assert page.status_code == 200
        assert 'action="/ui/apis"' not in page.text
        refused = await b.post("/ui/apis", {"name": "nope"})
        assert refused.status_code == 403
        assert await keystead.apis.list(b.operator) == []
