"""The webhooks pages: endpoints created (secret shown once), edited, enabled,
disabled and deleted through the service; deliveries, their attempts, the dead
letter and replay; CSRF; escaping; and a root key without the permission."""

from __future__ import annotations

import re

import pytest

from keystead.errors import NotFound
from keystead.events.webhooks import DeliveryPolicy
from keystead.service import Keystead

from .webkit import Browser, open_browser

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
REFUSED = "http://127.0.0.1:1/hook"  # nothing listens on port 1: every attempt fails


async def _create(b: Browser, **fields: str | list[str]) -> str:
    """Create an endpoint through the page; its id."""
    token = await b.csrf("/ui/webhooks")
    data = {"csrf": token, "url": "https://hooks.example.test/in", "events": ["*"], "enabled": "1"}
    data.update(fields)
    answer = await b.client.post("/ui/webhooks", data=data)
    assert answer.status_code == 201, answer.text
    found = re.search(r'href="/ui/webhooks/(wh_[A-Za-z0-9]+)"', answer.text)
    assert found is not None
    return found.group(1)


async def test_create_shows_the_secret_once_and_escapes(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        page = await b.client.get("/ui/webhooks")
        assert page.status_code == 200
        assert "<h1>Webhooks</h1>" in page.text and "Create endpoint" in page.text
        token = await b.csrf("/ui/webhooks")
        answer = await b.client.post(
            "/ui/webhooks",
            data={
                "csrf": token,
                "url": "https://hooks.example.test/in?a=1&b=2",
                "events": ["key.created", "key.revoked"],
                "description": XSS,
                "enabled": "1",
            },
        )
        assert answer.status_code == 201, answer.text
        secret = re.search(
            r'id="reveal-value" type="text" readonly value="(whsec_[^"]+)"', answer.text
        )
        assert secret is not None
        (hook,) = await keystead.webhooks.list(b.operator)
        assert hook.description == XSS and hook.events == ("key.created", "key.revoked")
        assert hook.enabled
        for path in ("/ui/webhooks", f"/ui/webhooks/{hook.id}"):
            shown = await b.client.get(path)
            assert shown.status_code == 200
            assert secret.group(1) not in shown.text
            assert "<script>alert(1)" not in shown.text and "<img src=x" not in shown.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&gt;&lt;img" in shown.text


async def test_a_refused_form_names_the_field(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        token = await b.csrf("/ui/webhooks")
        answer = await b.client.post(
            "/ui/webhooks", data={"csrf": token, "url": "ftp://x.test/", "events": ["*"]}
        )
        assert answer.status_code == 422
        assert "url must start with http:// or https://" in answer.text
        assert 'aria-invalid="true"' in answer.text and 'value="ftp://x.test/"' in answer.text
        none = await b.client.post("/ui/webhooks", data={"csrf": token, "url": "https://x.test/"})
        assert none.status_code == 422 and "events is a non-empty list" in none.text
        assert await keystead.webhooks.list(b.operator) == []


async def test_edit_enable_disable_rotate_and_delete(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        hook_id = await _create(b)
        detail = await b.client.get(f"/ui/webhooks/{hook_id}")
        assert "Disable endpoint" in detail.text and "Delete endpoint" in detail.text
        assert f"Delete webhook &#39;https://hooks.example.test/in&#39; ({hook_id})" in detail.text
        token = await b.csrf(f"/ui/webhooks/{hook_id}")
        saved = await b.client.post(
            f"/ui/webhooks/{hook_id}",
            data={
                "csrf": token,
                "url": "https://other.example.test/hook",
                "events": ["key.revoked"],
                "description": "billing",
            },
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == f"/ui/webhooks/{hook_id}?done=updated"
        hook = await keystead.webhooks.get(b.operator, hook_id)
        assert (hook.url, hook.events, hook.description) == (
            "https://other.example.test/hook",
            ("key.revoked",),
            "billing",
        )
        off = await b.client.post(f"/ui/webhooks/{hook_id}/disable", data={"csrf": token})
        assert off.status_code == 303
        assert not (await keystead.webhooks.get(b.operator, hook_id)).enabled
        assert "Enable endpoint" in (await b.client.get(f"/ui/webhooks/{hook_id}")).text
        await b.client.post(f"/ui/webhooks/{hook_id}/enable", data={"csrf": token})
        assert (await keystead.webhooks.get(b.operator, hook_id)).enabled
        before = (await keystead.webhooks.get(b.operator, hook_id)).sealed_secret
        rotated = await b.client.post(f"/ui/webhooks/{hook_id}/rotate-secret", data={"csrf": token})
        assert rotated.status_code == 200 and "Secret rotated" in rotated.text
        assert 'value="whsec_' in rotated.text
        after = await keystead.webhooks.get(b.operator, hook_id)
        assert after.sealed_secret != before and after.old_secret_expires_at is not None
        gone = await b.client.post(f"/ui/webhooks/{hook_id}/delete", data={"csrf": token})
        assert gone.status_code == 303 and gone.headers["location"] == "/ui/webhooks?done=deleted"
        with pytest.raises(NotFound):
            await keystead.webhooks.get(b.operator, hook_id)
        assert (await b.client.get(f"/ui/webhooks/{hook_id}")).status_code == 404


async def test_actions_without_the_csrf_token_change_nothing(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        hook_id = await _create(b)
        for path in (f"/ui/webhooks/{hook_id}/disable", f"/ui/webhooks/{hook_id}/delete"):
            refused = await b.client.post(path, data={"csrf": "forged"})
            assert refused.status_code == 403
            bare = await b.client.post(path)
            assert bare.status_code == 403
        made = await b.client.post("/ui/webhooks", data={"url": "https://x.test/", "events": "*"})
        assert made.status_code == 403
        (hook,) = await keystead.webhooks.list(b.operator)
        assert hook.id == hook_id and hook.enabled


async def test_deliveries_attempts_dead_letter_and_replay(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        hook_id = await _create(b, url=REFUSED)
        api = await keystead.apis.create(b.operator, name="hooked")
        await keystead.keys.create(b.operator, api_id=api.id, name="k")
        await keystead.webhooks.make_dispatcher(DeliveryPolicy(max_attempts=1)).run_once()
        dead = (await keystead.webhooks.deliveries(b.operator, status="dead")).items
        assert dead, "the delivery to a closed port went to the dead letter"
        delivery_id = dead[0].id
        listing = await b.client.get("/ui/webhooks")
        assert "The dead letter is empty." not in listing.text
        assert f"/ui/webhooks/deliveries/{delivery_id}" in listing.text
        letter = await b.client.get("/ui/webhooks/deliveries?status=dead")
        assert letter.status_code == 200 and "<h1>Dead letter</h1>" in letter.text
        assert delivery_id in letter.text
        of_hook = await b.client.get(f"/ui/webhooks/{hook_id}?status=dead")
        assert delivery_id in of_hook.text
        detail = await b.client.get(f"/ui/webhooks/deliveries/{delivery_id}")
        assert detail.status_code == 200
        assert "Replay delivery" in detail.text and "Not attempted yet." not in detail.text
        token = await b.csrf(f"/ui/webhooks/deliveries/{delivery_id}")
        replayed = await b.client.post(
            f"/ui/webhooks/deliveries/{delivery_id}/replay", data={"csrf": token}
        )
        assert replayed.status_code == 303
        again = await keystead.webhooks.delivery(b.operator, delivery_id)
        assert again.delivery.status == "pending"
        busy = await b.client.post(
            f"/ui/webhooks/deliveries/{delivery_id}/replay", data={"csrf": token}
        )
        assert busy.status_code == 409 and "queued already" in busy.text
        bad = await b.client.get("/ui/webhooks/deliveries?status=lost")
        assert bad.status_code == 422


async def test_a_root_key_without_the_permission(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        narrow = await keystead.root_keys.create(
            b.operator, name="keys only", permissions=["keys.read"]
        )
        await b.sign_in(narrow.plaintext)
        overview = await b.client.get("/ui/")
        assert 'href="/ui/webhooks"' not in overview.text
        page = await b.client.get("/ui/webhooks")
        assert page.status_code == 403 and "webhooks.read" in page.text
        token = await b.csrf()
        made = await b.client.post(
            "/ui/webhooks", data={"csrf": token, "url": "https://x.test/", "events": "*"}
        )
        assert made.status_code == 403
        assert await keystead.webhooks.list(b.operator) == []


async def test_read_only_shows_no_buttons(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        hook = await keystead.webhooks.create(
            b.operator, url="https://hooks.example.test/in", events=["*"]
        )
        reader = await keystead.root_keys.create(
            b.operator, name="reader", permissions=["webhooks.read"]
        )
        await b.sign_in(reader.plaintext)
        listing = await b.client.get("/ui/webhooks")
        assert listing.status_code == 200 and "Create endpoint" not in listing.text
        detail = await b.client.get(f"/ui/webhooks/{hook.webhook.id}")
        assert detail.status_code == 200
        assert "Delete endpoint" not in detail.text and "Save endpoint" not in detail.text
        token = await b.csrf("/ui/webhooks")
        refused = await b.client.post(
            f"/ui/webhooks/{hook.webhook.id}/delete", data={"csrf": token}
        )
        assert refused.status_code == 403 and "webhooks.write" in refused.text
        assert (await keystead.webhooks.get(b.operator, hook.webhook.id)).enabled
