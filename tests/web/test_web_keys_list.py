"""``/ui/keys``: filters, search and cursor pages through the service's list."""

from __future__ import annotations

import re

from keystead.service import Keystead

from .keyskit import browser

ROW = re.compile(r'<td><a href="/ui/keys/(key_[A-Za-z0-9_]+)">')


def key_ids(page: str) -> list[str]:
    return ROW.findall(page)


def next_link(page: str) -> str | None:
    found = re.search(r'<a href="(\?[^"]*)" rel="next">', page)
    return None if found is None else found.group(1).replace("&amp;", "&")


async def test_pages_follow_the_cursor_and_never_hold_more_than_a_page(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="many")
        specs = [{"api_id": api.id, "name": f"k{i}", "owner_id": f"o{i % 3}"} for i in range(120)]
        created = await keystead.keys.create_many(b.operator, specs)
        elsewhere = await keystead.apis.create(b.operator, name="elsewhere")
        await keystead.keys.create_many(b.operator, [{"api_id": elsewhere.id}] * 60)
        seen: list[str] = []
        url: str | None = f"/ui/keys?api_id={api.id}"
        pages = 0
        while url is not None:
            response = await b.client.get(url if url.startswith("/") else "/ui/keys" + url)
            assert response.status_code == 200, response.text
            ids = key_ids(response.text)
            assert 0 < len(ids) <= 50
            seen.extend(ids)
            url = next_link(response.text)
            assert url is None or f"api_id={api.id}" in url  # the filter is kept
            pages += 1
        assert pages == 3
        assert len(seen) == len(set(seen)) == 120
        assert set(seen) == {c.key.id for c in created}
        assert seen == sorted(seen)  # oldest (smallest id) first


async def test_filters_narrow_the_list(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="shop")
        other = await keystead.apis.create(b.operator, name="blog")
        plan = await keystead.plans.create(b.operator, name="free")
        made = await keystead.keys.create_many(
            b.operator,
            [
                {"api_id": api.id, "name": "alpha", "owner_id": "acme"},
                {"api_id": api.id, "name": "beta", "owner_id": "acme", "plan_id": plan.id},
                {"api_id": api.id, "name": "gamma", "owner_id": "zeta", "environment": "test"},
                {"api_id": other.id, "name": "delta", "owner_id": "acme"},
            ],
        )
        alpha, beta, gamma, delta = (c.key.id for c in made)
        await keystead.keys.disable(b.operator, alpha)

        async def listed(**params: str) -> set[str]:
            response = await b.client.get("/ui/keys", params=params)
            assert response.status_code == 200, response.text
            return set(key_ids(response.text))

        assert await listed() == {alpha, beta, gamma, delta}
        assert await listed(api_id=other.id) == {delta}
        assert await listed(state="disabled") == {alpha}
        assert await listed(state="active", api_id=api.id) == {beta, gamma}
        assert await listed(owner_id="acme") == {alpha, beta, delta}
        assert await listed(plan_id=plan.id) == {beta}
        assert await listed(environment="test") == {gamma}
        assert await listed(q="gam") == {gamma}
        assert await listed(q="zet") == {gamma}
        assert await listed(q=made[1].key.start) == {beta}
        refused = await b.client.get("/ui/keys", params={"state": "sleepy"})
        assert refused.status_code == 422
        assert "Traceback" not in refused.text


async def test_names_owners_and_meta_are_escaped(keystead: Keystead) -> None:
    payload = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
    async with browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name=payload)
        key = await keystead.keys.create(
            b.operator,
            api_id=api.id,
            name=payload,
            owner_id=payload,
            meta={"note": payload, payload: 1},
        )
        pages = ("/ui/keys", f"/ui/keys/{key.key.id}", f"/ui/keys/{key.key.id}/edit")
        for url in (*pages, "/ui/apis", f"/ui/apis/{api.id}", "/ui/"):
            response = await b.client.get(url)
            assert response.status_code == 200, (url, response.text)
            assert "<script>alert" not in response.text, url
            assert "<img src=x" not in response.text, url
            if url != "/ui/":  # the overview names keys only once they are used
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text, url


async def test_an_unknown_key_id_is_a_404_page_with_the_id_escaped(keystead: Keystead) -> None:
    async with browser(keystead) as b:
        response = await b.client.get("/ui/keys/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        assert response.status_code == 404
        assert "<script>alert" not in response.text
