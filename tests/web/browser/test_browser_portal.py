"""The self-service portal in Chromium: a provider's backend asks for a one-time link
(``POST /v1/portal/sessions``), the customer's browser opens it, and the portal shows
that owner's keys only; the customer rolls one of them, copies the new key and the
old one keeps working for the grace period."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, expect

from serving import Server

from .conftest import new_context
from .kit import Watch, api, assert_accessible, curl_verify, visit


def portal_link(server: Server, owner: str) -> str:
    """A one-time link for ``owner``, on the test server's origin (the link is built on
    ``KEYSTEAD_PUBLIC_URL``, which these servers leave at its default)."""
    with api(server) as client:
        answer = client.post("/v1/portal/sessions", json={"owner_id": owner})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["owner_id"] == owner
    parts = urlsplit(body["url"])
    assert parts.path == "/portal/enter" and parts.query.startswith("token=ksportal_")
    return f"{server.url}{parts.path}?{parts.query}"


def enter(page: Page, link: str) -> None:
    """Open the link; the page posts its token by itself and leaves /portal/enter."""
    page.goto(link)
    page.wait_for_url(lambda url: "/portal/enter" not in url)


def test_a_portal_link_opens_once_and_never_the_dashboard(
    browser: Browser, page: Page, server: Server, watch: Watch
) -> None:
    link = portal_link(server, f"owner-{secrets.token_hex(3)}")
    enter(page, link)
    cookies = {c.get("name"): c for c in page.context.cookies()}
    assert "ks_portal" in cookies and "ks_session" not in cookies
    assert cookies["ks_portal"].get("httpOnly") is True
    assert cookies["ks_portal"].get("sameSite") == "Strict"
    answer = page.goto("/ui/keys")
    assert answer is not None and answer.status == 403
    watch.assert_quiet()

    again = new_context(browser, server)
    try:
        second = again.new_page()
        second.goto(link)
        expect(second.get_by_role("alert")).to_contain_text(
            re.compile("expired or was already used")
        )
        assert not [c for c in again.cookies() if c.get("name") == "ks_portal"]
    finally:
        again.close()


def make_keys(server: Server, owner: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """Keys for ``owner`` through the HTTP API: name -> (id, plaintext)."""
    made = {}
    with api(server) as client:
        created = client.post("/v1/apis", json={"name": f"portal-{secrets.token_hex(3)}"})
        assert created.status_code == 201, created.text
        for name in names:
            answer = client.post(
                "/v1/keys",
                json={"api_id": created.json()["id"], "name": name, "owner_id": owner},
            )
            assert answer.status_code == 201, answer.text
            made[name] = (answer.json()["id"], answer.json()["key"])
            server.revealed.append(answer.json()["key"])
    return made


def test_a_customer_sees_only_their_keys_and_rolls_one(
    page: Page, server: Server, watch: Watch
) -> None:
    suffix = secrets.token_hex(3)
    owner_a, owner_b = f"alice-{suffix}", f"bob-{suffix}"
    mine = make_keys(server, owner_a, [f"a-prod-{suffix}", f"a-test-{suffix}"])
    theirs = make_keys(server, owner_b, [f"b-prod-{suffix}"])

    enter(page, portal_link(server, owner_a))
    visit(page, "/portal/", watch)
    table = page.get_by_role("table")
    for name in mine:
        expect(table.get_by_role("link", name=name)).to_be_visible()
    for name, (key_id, _) in theirs.items():
        assert name not in page.content() and key_id not in page.content()
    b_id = next(iter(theirs.values()))[0]
    refused = page.goto(f"/portal/keys/{b_id}")
    assert refused is not None and refused.status == 404

    name, (key_id, old_key) = next(iter(mine.items()))
    visit(page, "/portal/", watch)
    page.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(f"/portal/keys/{key_id}$"))
    assert_accessible(page)
    page.get_by_label("Old key keeps working for").select_option(label="1 hour")
    page.get_by_role("button", name="Roll key").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Roll key '{name}' ({key_id})?")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Key rolled")
    watch.assert_quiet()
    assert_accessible(page)
    shown = page.get_by_label("Your new key")
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#live")).to_have_text("Copied")
    new_key: str = page.evaluate("() => navigator.clipboard.readText()")
    assert new_key == shown.input_value() and new_key != old_key
    server.revealed.append(new_key)

    fresh = curl_verify(server, new_key)
    assert fresh["valid"] is True and fresh["owner_id"] == owner_a
    assert fresh["key_id"] != key_id
    during_grace = curl_verify(server, old_key)
    assert during_grace["valid"] is True and during_grace["key_id"] == key_id

    page.get_by_role("link", name="Go to the key").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert new_key not in page.content()  # shown once: never again
    visit(page, page.url, watch)
    watch.assert_quiet()
    assert watch.dialogs == []
