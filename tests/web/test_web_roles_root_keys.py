"""The roles and root keys pages: a role put and deleted on an API; a narrow
root key (a service token) created and shown once, then revoked with a
confirmation; CSRF; escaping; and root keys without the permission."""

from __future__ import annotations

import re

from keystead.service import Keystead

from .webkit import open_browser

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


async def test_roles_put_and_delete(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="docs")
        await b.sign_in()
        page = await b.client.get(f"/ui/roles?api_id={api.id}")
        assert page.status_code == 200 and "<h1>Roles</h1>" in page.text
        assert "This API has no roles yet." in page.text
        token = await b.csrf("/ui/roles")
        put = await b.client.post(
            "/ui/roles",
            data={
                "csrf": token,
                "api_id": api.id,
                "name": "reader",
                "permissions": "documents.read,\ndocuments.list",
                "description": XSS,
            },
        )
        assert put.status_code == 303, put.text
        (role,) = await keystead.apis.list_roles(b.operator, api.id)
        assert role.permissions == ("documents.read", "documents.list")
        assert role.description == XSS
        shown = await b.client.get("/ui/roles")  # the first API is chosen
        assert "documents.list" in shown.text and "<script>alert(1)" not in shown.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
        bad = await b.client.post(
            "/ui/roles",
            data={"csrf": token, "api_id": api.id, "name": "no spaces!", "permissions": "a.b"},
        )
        assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
        assert len(await keystead.apis.list_roles(b.operator, api.id)) == 1
        refused = await b.client.post("/ui/roles/delete", data={"api_id": api.id, "name": "reader"})
        assert refused.status_code == 403
        gone = await b.client.post(
            "/ui/roles/delete", data={"csrf": token, "api_id": api.id, "name": "reader"}
        )
        assert gone.status_code == 303
        assert await keystead.apis.list_roles(b.operator, api.id) == []


async def test_a_service_token_created_once_and_revoked(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="billing")
        await b.sign_in()
        page = await b.client.get("/ui/root-keys")
        assert page.status_code == 200 and "Create root key" in page.text
        assert "(this session's)" in page.text
        token = await b.csrf("/ui/root-keys")
        made = await b.client.post(
            "/ui/root-keys",
            data={
                "csrf": token,
                "name": XSS,
                "permissions": ["keys.read", "keys.verify"],
                "extra": "usage.read",
                "api_ids": [api.id],
                "owner_id": "acme",
            },
        )
        assert made.status_code == 201, made.text
        shown = re.search(r'readonly value="(ksroot_[^"]+)"', made.text)
        assert shown is not None
        plaintext = shown.group(1)
        assert "<script>alert(1)" not in made.text
        (created,) = [k for k in await keystead.root_keys.list(b.operator) if k.name == XSS]
        assert created.permissions == ("keys.read", "keys.verify", "usage.read")
        assert created.api_ids == (api.id,) and created.owner_id == "acme"
        listing = await b.client.get("/ui/root-keys")
        assert plaintext not in listing.text and "<img src=x" not in listing.text
        assert "Revoke root key &#39;&lt;script&gt;" in listing.text
        assert f"({created.id})? Anything using it is refused at once" in listing.text
        refused = await b.client.post(f"/ui/root-keys/{created.id}/revoke")
        assert refused.status_code == 403
        revoked = await b.client.post(f"/ui/root-keys/{created.id}/revoke", data={"csrf": token})
        assert revoked.status_code == 303
        assert revoked.headers["location"] == "/ui/root-keys?done=revoked"
        (after,) = [k for k in await keystead.root_keys.list(b.operator) if k.id == created.id]
        assert after.revoked_at is not None
        b.client.cookies.clear()
        assert (await b.sign_in(plaintext)).status_code == 401


async def test_a_root_key_cannot_grant_more_than_it_holds(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        creator = await keystead.root_keys.create(
            b.operator, name="creator", permissions=["root_keys.create", "root_keys.read"]
        )
        await b.sign_in(creator.plaintext)
        page = await b.client.get("/ui/root-keys")
        assert 'value="root_keys.read"' in page.text and 'value="keys.read"' not in page.text
        assert 'value="*"' not in page.text
        token = await b.csrf("/ui/root-keys")
        wider = await b.client.post(
            "/ui/root-keys", data={"csrf": token, "permissions": "root_keys.read", "extra": "*"}
        )
        assert wider.status_code == 422 and "the caller does not hold it" in wider.text
        nothing = await b.client.post("/ui/root-keys", data={"csrf": token, "name": "empty"})
        assert nothing.status_code == 422 and "choose at least one permission" in nothing.text
        assert len(await keystead.root_keys.list(b.operator)) == 2


async def test_without_the_permissions(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="docs")
        await keystead.apis.put_role(b.operator, api.id, "reader", ["documents.read"])
        narrow = await keystead.root_keys.create(
            b.operator, name="keys only", permissions=["keys.read"]
        )
        await b.sign_in(narrow.plaintext)
        overview = await b.client.get("/ui/")
        for area, permission in (("/ui/roles", "roles.read"), ("/ui/root-keys", "root_keys.read")):
            assert f'href="{area}"' not in overview.text
            answer = await b.client.get(area)
            assert answer.status_code == 403 and permission in answer.text, area
        token = await b.csrf()
        made = await b.client.post(
            "/ui/root-keys", data={"csrf": token, "permissions": "keys.read"}
        )
        assert made.status_code == 403
        gone = await b.client.post(
            "/ui/roles/delete", data={"csrf": token, "api_id": api.id, "name": "reader"}
        )
        assert gone.status_code == 403
        assert len(await keystead.apis.list_roles(b.operator, api.id)) == 1
        assert len(await keystead.root_keys.list(b.operator)) == 2
