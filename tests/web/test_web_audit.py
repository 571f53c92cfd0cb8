"""The audit page: filters and cursor pagination, the "Verify chain" button
(a clean chain, then one tampered with behind the service's back, the break
named), CSRF, escaping, and root keys without the permission or narrowed."""

from __future__ import annotations

import re

import sqlalchemy as sa

from keystead.config import Settings
from keystead.service import Keystead

from .webkit import open_browser

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


def _tamper(settings: Settings, statement: str) -> None:
    url = settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    url = url.replace("mysql://", "mysql+pymysql://", 1)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(sa.text(statement))
    finally:
        engine.dispose()


async def test_filters_and_pagination(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="shop")
        keys = [await keystead.keys.create(b.operator, api_id=api.id, name=XSS) for _ in range(3)]
        await keystead.keys.revoke(b.operator, keys[0].key.id)
        await b.sign_in()
        page = await b.client.get("/ui/audit")
        assert page.status_code == 200
        assert "<h1>Audit log</h1>" in page.text and ">Verify chain</button>" in page.text
        assert "key.create" in page.text and "key.revoke" in page.text
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # in the changes
        assert keys[0].plaintext not in page.text
        revoked = await b.client.get("/ui/audit", params={"action": "key.revoke"})
        assert revoked.text.count('<td class="num">') == 1
        assert keys[0].key.id in revoked.text and keys[1].key.id not in revoked.text
        by_target = await b.client.get("/ui/audit", params={"target": keys[2].key.id})
        assert keys[2].key.id in by_target.text and keys[1].key.id not in by_target.text
        prefix = await b.client.get("/ui/audit", params={"action": "key.*", "actor": "cli"})
        assert prefix.text.count('<td class="num">') == 4
        later = await b.client.get("/ui/audit", params={"from": "2099-01-01T00:00"})
        assert "No audit entries match." in later.text
        bad = await b.client.get("/ui/audit", params={"to": "yesterday"})
        assert bad.status_code == 422 and "to is an ISO 8601 date-time" in bad.text


async def test_cursor_pagination(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="many")
        for n in range(55):
            await keystead.keys.create(b.operator, api_id=api.id, name=f"k{n}")
        await b.sign_in()
        first = await b.client.get("/ui/audit", params={"action": "key.create"})
        found = re.search(r'href="\?([^"]*cursor=\d+[^"]*)" rel="next"', first.text)
        assert found is not None
        assert "action=key.create" in found.group(1)
        second = await b.client.get("/ui/audit?" + found.group(1).replace("&amp;", "&"))
        assert second.status_code == 200
        seqs = re.findall(r'<td class="num">(\d+)</td>', first.text + second.text)
        assert len(seqs) == 55 and len(set(seqs)) == 55
        assert 'rel="next"' not in second.text


async def test_verify_chain_names_a_break(keystead: Keystead, settings: Settings) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="shop")
        await keystead.keys.create(b.operator, api_id=api.id, name="a")
        await b.sign_in()
        token = await b.csrf("/ui/audit")
        clean = await b.client.post("/ui/audit/verify", data={"csrf": token})
        assert clean.status_code == 200
        assert "The chain verifies." in clean.text and "The chain is broken." not in clean.text
        fragment = await b.client.post(
            "/ui/audit/verify", headers={"x-csrf-token": token, "hx-request": "true"}
        )
        assert fragment.status_code == 200 and "<html" not in fragment.text
        assert "The chain verifies." in fragment.text
        _tamper(settings, "UPDATE ks_audit SET actor = 'nobody' WHERE seq = 2")
        broken = await b.client.post("/ui/audit/verify", data={"csrf": token})
        assert broken.status_code == 200
        assert "The chain is broken." in broken.text
        assert re.search(r"<strong>modified</strong> at seq 2\b", broken.text), broken.text
        assert 'role="alert"' in broken.text
        refused = await b.client.post("/ui/audit/verify")
        assert refused.status_code == 403 and "The chain" not in refused.text


async def test_root_keys_that_may_not_read_it(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="shop")
        without = await keystead.root_keys.create(b.operator, permissions=["keys.read"])
        await b.sign_in(without.plaintext)
        assert 'href="/ui/audit"' not in (await b.client.get("/ui/")).text
        page = await b.client.get("/ui/audit")
        assert page.status_code == 403 and "audit.read" in page.text
        token = await b.csrf()
        assert (await b.client.post("/ui/audit/verify", data={"csrf": token})).status_code == 403
        b.client.cookies.clear()
        narrowed = await keystead.root_keys.create(
            b.operator, permissions=["audit.read"], api_ids=[api.id]
        )
        await b.sign_in(narrowed.plaintext)
        answer = await b.client.get("/ui/audit")
        assert answer.status_code == 403 and "spans the workspace" in answer.text
