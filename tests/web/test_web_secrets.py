"""The secrets pages: the mount tree, a secret's metadata and versions, and the
value revealed only by an audited POST."""

from __future__ import annotations

import logging

import pytest

from keystead.core.authz import Principal
from keystead.service import Keystead
from keystead.web.pages import secrets as secret_pages

from .htmlcheck import assert_no_inline_script, assert_unique_ids
from .webkit import form_token, open_browser

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
VALUE = "s3cr3t-value-4a7f9c"


async def _reads(ks: Keystead, operator: Principal) -> int:
    found = await ks.audit.list(operator, action="secret.read")
    return len(found.items)


async def test_tree_detail_and_an_audited_reveal(
    vault: Keystead, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with open_browser(vault) as b:
        await vault.secrets.put(b.operator, "secret", "payments/stripe", {"api_key": VALUE})
        await vault.secrets.put(b.operator, "secret", "payments/stripe", {"api_key": "v2-" + VALUE})
        await b.sign_in()

        mounts = await b.client.get("/ui/secrets")
        assert mounts.status_code == 200
        assert "<h1>Secrets</h1>" in mounts.text and 'href="/ui/secrets/secret"' in mounts.text
        top = await b.client.get("/ui/secrets/secret")
        assert top.status_code == 200
        assert 'href="/ui/secrets/secret/browse/payments/"' in top.text
        folder = await b.client.get("/ui/secrets/secret/browse/payments/")
        assert folder.status_code == 200
        assert 'href="/ui/secrets/secret/secret/payments/stripe"' in folder.text

        detail = await b.client.get("/ui/secrets/secret/secret/payments/stripe")
        assert detail.status_code == 200
        assert "Reveal value" in detail.text and "Versions" in detail.text
        assert VALUE not in detail.text
        assert await _reads(vault, b.operator) == 0

        token = form_token(detail.text)
        url = "/ui/secrets/secret/reveal/payments/stripe"
        revealed = await b.client.post(url, data={"csrf": token})
        assert revealed.status_code == 200
        assert "v2-" + VALUE in revealed.text
        for html in (detail.text, revealed.text, folder.text, mounts.text):
            assert_unique_ids(html)
            assert_no_inline_script(html)
        assert revealed.headers["cache-control"] == "no-store"
        assert await _reads(vault, b.operator) == 1
        old = await b.client.post(url, data={"csrf": token, "version": "1"})
        assert old.status_code == 200
        assert f'value="{VALUE}"' in old.text and "v2-" + VALUE not in old.text
        assert await _reads(vault, b.operator) == 2
        entries = (await vault.audit.list(b.operator, action="secret.read")).items
        assert entries[0].record.target_id == "secret/payments/stripe"
        assert VALUE not in repr(entries)

        again = await b.client.get("/ui/secrets/secret/secret/payments/stripe")
        assert VALUE not in again.text  # a GET never carries the value
        assert VALUE not in str(revealed.url) and VALUE not in str(revealed.headers)
        assert VALUE not in caplog.text


async def test_reveal_without_csrf_is_refused_and_not_audited(vault: Keystead) -> None:
    async with open_browser(vault) as b:
        await vault.secrets.put(b.operator, "secret", "app/db", {"password": VALUE})
        await b.sign_in()
        url = "/ui/secrets/secret/reveal/app/db"
        for data in ({}, {"csrf": "forged"}):
            refused = await b.client.post(url, data=data)
            assert refused.status_code == 403
            assert VALUE not in refused.text
        assert await _reads(vault, b.operator) == 0


async def test_version_delete_undelete_destroy(vault: Keystead) -> None:
    async with open_browser(vault) as b:
        await vault.secrets.put(b.operator, "secret", "app/db", {"password": VALUE})
        await b.sign_in()
        token = await b.csrf("/ui/secrets/secret/secret/app/db")
        url = "/ui/secrets/secret/versions/app/db"
        for op, state in (("delete", "deleted"), ("undelete", "live"), ("destroy", "destroyed")):
            done = await b.client.post(url, data={"csrf": token, "op": op, "version": "1"})
            assert done.status_code == 303, done.text
            secret = await vault.secrets.read_metadata(b.operator, "secret", "app/db")
            assert secret.versions[0].state(secret.versions[0].created_time) == state
        bad = await b.client.post(url, data={"csrf": token, "op": "explode", "version": "1"})
        assert bad.status_code == 422


async def test_user_data_is_escaped(vault: Keystead) -> None:
    async with open_browser(vault) as b:
        path = "team/a=b,c~d@e"  # paths allow no markup; metadata values are free text
        await vault.secrets.put(b.operator, "secret", path, {"k": "v"})
        await vault.secrets.write_metadata(
            b.operator, "secret", path, custom_metadata={"owner": XSS}
        )
        await b.sign_in()
        folder = await b.client.get("/ui/secrets/secret/browse/team/")
        assert folder.status_code == 200
        assert 'href="/ui/secrets/secret/secret/team/a%3Db%2Cc~d%40e"' in folder.text
        detail = await b.client.get("/ui/secrets/secret/secret/team/a%3Db%2Cc~d%40e")
        assert detail.status_code == 200, detail.text
        assert "<script>alert(1)" not in detail.text and "<img src=x" not in detail.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail.text
        hostile = "/ui/secrets/secret/secret/team/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
        refused = await b.client.get(hostile)
        assert refused.status_code == 422
        assert "<script>alert(1)" not in refused.text


async def test_absent_without_the_permission(vault: Keystead) -> None:
    async with open_browser(vault) as b:
        await vault.secrets.put(b.operator, "secret", "app/db", {"password": VALUE})
        narrow = await vault.root_keys.create(b.operator, permissions=["keys.read"])
        await b.sign_in(narrow.plaintext)
        overview = await b.client.get("/ui/")
        assert 'href="/ui/secrets"' not in overview.text
        for path in ("/ui/secrets", "/ui/secrets/secret", "/ui/secrets/secret/secret/app/db"):
            refused = await b.client.get(path)
            assert refused.status_code == 403, path
        token = await b.csrf()
        refused = await b.client.post("/ui/secrets/secret/reveal/app/db", data={"csrf": token})
        assert refused.status_code == 403 and VALUE not in refused.text
        assert await _reads(vault, b.operator) == 0


async def test_a_long_folder_is_paginated(vault: Keystead, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secret_pages, "PAGE_SIZE", 2)
    async with open_browser(vault) as b:
        for name in ("a", "b", "c"):
            await vault.secrets.put(b.operator, "secret", f"many/{name}", {"k": "v"})
        await vault.secret_rotation.set(b.operator, "secret", "many/a", max_age_s=86_400)
        await b.sign_in()
        first = await b.client.get("/ui/secrets/secret/browse/many/")
        assert "many/a" in first.text and "many/b" in first.text and "many/c" not in first.text
        assert 'href="?cursor=2"' in first.text
        second = await b.client.get("/ui/secrets/secret/browse/many/?cursor=2")
        assert "many/c" in second.text and "many/a" not in second.text
        assert 'rel="next"' not in second.text
        assert (await b.client.get("/ui/secrets/secret/browse/many/?cursor=x")).status_code == 422
        detail = await b.client.get("/ui/secrets/secret/secret/many/a")
        assert "Rotation policy" in detail.text and "86400 s" in detail.text


async def test_a_path_scoped_key_reaches_its_grants_only(vault: Keystead) -> None:
    async with open_browser(vault) as b:
        await vault.secrets.put(b.operator, "secret", "app/db", {"password": VALUE})
        await vault.secrets.put(b.operator, "secret", "other/db", {"password": "x" + VALUE})
        scoped = await vault.root_keys.create(
            b.operator, permissions=["secrets.list:secret/app/*", "secrets.read:secret/app/*"]
        )
        await b.sign_in(scoped.plaintext)
        landing = await b.client.get("/ui/secrets")
        assert landing.status_code == 200
        assert "Your secret grants" in landing.text
        assert 'href="/ui/secrets/secret/browse/app/"' in landing.text
        folder = await b.client.get("/ui/secrets/secret/browse/app/")
        assert folder.status_code == 200 and "app/db" in folder.text
        assert (await b.client.get("/ui/secrets/secret/browse/other/")).status_code == 403
        assert (await b.client.get("/ui/secrets/secret/secret/other/db")).status_code == 403
        token = await b.csrf("/ui/secrets/secret/secret/app/db")
        shown = await b.client.post("/ui/secrets/secret/reveal/app/db", data={"csrf": token})
        assert shown.status_code == 200 and VALUE in shown.text
        refused = await b.client.post("/ui/secrets/secret/reveal/other/db", data={"csrf": token})
        assert refused.status_code == 403 and "x" + VALUE not in refused.text
        assert await _reads(vault, b.operator) == 1
