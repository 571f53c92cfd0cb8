"""The self-service portal in Chromium: a provider's backend asks for a one-time link
(``POST /v1/portal/sessions``), the customer's browser opens it, and the portal shows
that owner's keys only."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, expect

from serving import Server

from .conftest import new_context
from .kit import Watch, api


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
