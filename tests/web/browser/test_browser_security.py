"""Security journeys in Chromium: a state change without the session's CSRF token is
refused and changes nothing; attacker-controlled key fields (name, owner id, meta) with
script and quote payloads render as text on every page that shows them."""

from __future__ import annotations

import json
import secrets
from typing import Any

from playwright.sync_api import Page, expect

from serving import Server

from .kit import Watch, api, csrf_less_post, sign_in, visit

NAME = """<script>alert("name")</script>"'><img src=x onerror=alert(1)>"""
OWNER = """owner"><svg onload=alert(2)>'"""
META = {"note": "</pre><script>alert(3)</script>", "q": "\"'><b>bold</b>"}


def create_key(server: Server, **fields: Any) -> dict[str, Any]:
    with api(server) as client:
        created = client.post("/v1/apis", json={"name": f"sec-{secrets.token_hex(4)}"})
        assert created.status_code == 201, created.text
        answer = client.post("/v1/keys", json={"api_id": created.json()["id"], **fields})
        assert answer.status_code == 201, answer.text
        key: dict[str, Any] = answer.json()
        return key


def key_state(server: Server, key_id: str) -> str:
    with api(server) as client:
        state: str = client.get(f"/v1/keys/{key_id}").json()["state"]
        return state


def test_a_post_without_the_csrf_token_is_refused(page: Page, server: Server) -> None:
    key = create_key(server, name="csrf-target")
    sign_in(page, server.root_key)
    page.goto(f"/ui/keys/{key['id']}")
    assert csrf_less_post(page, f"/ui/keys/{key['id']}/revoke") == 403
    assert csrf_less_post(page, f"/ui/keys/{key['id']}/disable") == 403
    assert csrf_less_post(page, "/ui/sign-out") == 403
    wrong: int = page.evaluate(
        """async (path) => (await fetch(path, {method: 'POST', redirect: 'manual',
            headers: {'X-CSRF-Token': 'not-the-token'}})).status""",
        f"/ui/keys/{key['id']}/revoke",
    )
    assert wrong == 403
    assert key_state(server, key["id"]) == "active"
    page.reload()  # still signed in: the refused sign-out did nothing
    expect(page.get_by_role("button", name="Revoke")).to_be_visible()


def test_the_same_post_with_the_token_is_accepted(page: Page, server: Server) -> None:
    """The refusals above are about the token: the page's own token works."""
    key = create_key(server, name="csrf-control")
    sign_in(page, server.root_key)
    page.goto(f"/ui/keys/{key['id']}")
    status: int = page.evaluate(
        """async (path) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const answer = await fetch(path, {method: 'POST', redirect: 'manual',
                headers: {'X-CSRF-Token': token}});
            return answer.status;
        }""",
        f"/ui/keys/{key['id']}/disable",
    )
    assert status in (200, 303, 0), status  # 0: an opaque redirect (fetch redirect: 'manual')
    assert key_state(server, key["id"]) == "disabled"


def test_script_payloads_in_key_fields_render_as_text(
    page: Page, server: Server, watch: Watch
) -> None:
    key = create_key(server, name=NAME, owner_id=OWNER, meta=META)
    sign_in(page, server.root_key)
    for path in ("/ui/keys", f"/ui/keys?q={key['start']}", f"/ui/keys/{key['id']}"):
        visit(page, path, watch)
        main = page.locator("main")
        expect(main.get_by_text(NAME, exact=False).first).to_be_visible()
        assert page.locator("img[src='x'], svg[onload], main script, main b").count() == 0
    assert NAME in page.title()
    expect(page.locator("main").get_by_text(OWNER)).to_be_visible()
    meta_shown = page.locator("pre.json").inner_text()
    assert json.loads(meta_shown) == META
    page.goto(f"/ui/keys/{key['id']}/edit")
    expect(page.get_by_label("Name", exact=True)).to_have_value(NAME)
    expect(page.get_by_label("Owner id", exact=True)).to_have_value(OWNER)
    assert watch.dialogs == []
    watch.assert_quiet()


def test_pages_carry_the_security_headers(page: Page, server: Server) -> None:
    sign_in(page, server.root_key)
    response = page.goto("/ui/keys")
    assert response is not None
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
