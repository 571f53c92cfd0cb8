"""The plans and owners pages: created, edited and deleted through the
service; refused forms; CSRF; escaping; and root keys without the permission."""

from __future__ import annotations

import re

import pytest

from keystead.errors import NotFound
from keystead.service import Keystead

from .webkit import open_browser

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
DAY = '{"ratelimits": [{"name": "day", "limit": 1000, "duration_s": 86400}]}'


async def test_plans_create_edit_delete(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        page = await b.client.get("/ui/plans")
        assert page.status_code == 200 and "<h1>Plans</h1>" in page.text
        token = await b.csrf("/ui/plans")
        made = await b.client.post(
            "/ui/plans", data={"csrf": token, "name": XSS, "priority": "5", "limits": DAY}
        )
        assert made.status_code == 303, made.text
        (plan,) = await keystead.plans.list(b.operator)
        assert made.headers["location"] == f"/ui/plans/{plan.id}?done=created"
        assert (plan.name, plan.priority) == (XSS, 5)
        assert plan.limits["ratelimits"][0]["limit"] == 1000
        for path in ("/ui/plans", f"/ui/plans/{plan.id}"):
            shown = await b.client.get(path)
            assert shown.status_code == 200
            assert "<script>alert(1)" not in shown.text and "<img src=x" not in shown.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
        edited = await b.client.post(
            f"/ui/plans/{plan.id}",
            data={"csrf": token, "name": "free", "priority": "1", "limits": ""},
        )
        assert edited.status_code == 303
        now = await keystead.plans.get(b.operator, plan.id)
        assert (now.name, now.priority, now.limits.get("ratelimits") or []) == ("free", 1, [])
        bad = await b.client.post(
            "/ui/plans", data={"csrf": token, "name": "x", "limits": '{"speed": 3}'}
        )
        assert bad.status_code == 422 and "unknown limit &#39;speed&#39;" in bad.text
        broken = await b.client.post("/ui/plans", data={"csrf": token, "name": "x", "limits": "{"})
        assert broken.status_code == 422 and "limits is a JSON object" in broken.text
        assert len(await keystead.plans.list(b.operator)) == 1
        refused = await b.client.post(f"/ui/plans/{plan.id}/delete")
        assert refused.status_code == 403
        gone = await b.client.post(f"/ui/plans/{plan.id}/delete", data={"csrf": token})
        assert gone.status_code == 303
        with pytest.raises(NotFound):
            await keystead.plans.get(b.operator, plan.id)


async def test_owners_set_limits_link_keys_and_remove(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        owner_id = f"team/{XSS}"
        await b.sign_in()
        page = await b.client.get("/ui/owners")
        assert page.status_code == 200 and "<h1>Owners</h1>" in page.text
        token = await b.csrf("/ui/owners")
        made = await b.client.post(
            "/ui/owners", data={"csrf": token, "owner_id": owner_id, "limits": DAY}
        )
        assert made.status_code == 303, made.text
        owner = await keystead.owners.get(b.operator, owner_id)
        assert owner.limits["ratelimits"][0]["name"] == "day"
        listing = await b.client.get("/ui/owners")
        assert "<script>alert(1)" not in listing.text
        link = re.search(r'<a href="(/ui/owners/team%2F[^"]+)">', listing.text)
        assert link is not None
        detail = await b.client.get(link.group(1).replace("&amp;", "&"))
        assert detail.status_code == 200, detail.text
        assert "<script>alert(1)" not in detail.text and "<img src=x" not in detail.text
        assert "Keys of this owner" in detail.text
        assert 'href="/ui/keys?owner_id=team%2F%3Cscript%3E' in detail.text
        cleared = await b.client.post(
            "/ui/owners",
            data={"csrf": token, "owner_id": owner_id, "limits": "[1]", "from": "detail"},
        )
        assert cleared.status_code == 422 and "Save limits" in cleared.text
        removed = await b.client.post(
            "/ui/owners/delete", data={"csrf": token, "owner_id": owner_id}
        )
        assert removed.status_code == 303
        with pytest.raises(NotFound):
            await keystead.owners.get(b.operator, owner_id)
        unset = await b.client.get("/ui/owners/someone-else")
        assert unset.status_code == 200 and "none set" in unset.text


async def test_owners_list_shows_owners_that_only_hold_keys(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        api = await keystead.apis.create(b.operator, name="held", prefix="hd")
        for _ in range(2):
            await keystead.keys.create(b.operator, api_id=api.id, owner_id="cust_9")
        listing = await b.client.get("/ui/owners")
        assert listing.status_code == 200
        row = re.search(r'<a href="/ui/owners/cust_9">cust_9</a></td>\s*<td class="num">'
                        r'<a href="/ui/keys\?owner_id=cust_9">(\d+)</a>', listing.text)  # fmt: skip
        assert row is not None and row.group(1) == "2"


async def test_without_the_permissions(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        plan = await keystead.plans.create(b.operator, name="free")
        narrow = await keystead.root_keys.create(
            b.operator, name="keys only", permissions=["keys.read"]
        )
        await b.sign_in(narrow.plaintext)
        overview = await b.client.get("/ui/")
        for area in ("/ui/plans", "/ui/owners"):
            assert f'href="{area}"' not in overview.text
            answer = await b.client.get(area)
            assert answer.status_code == 403, area
        assert "plans.read" in (await b.client.get("/ui/plans")).text
        token = await b.csrf()
        refused = await b.client.post(f"/ui/plans/{plan.id}/delete", data={"csrf": token})
        assert refused.status_code == 403
        assert (await keystead.plans.get(b.operator, plan.id)).name == "free"
        owner = await b.client.post(
            "/ui/owners", data={"csrf": token, "owner_id": "o", "limits": DAY}
        )
        assert owner.status_code == 403
        assert await keystead.owners.list(b.operator) == []
