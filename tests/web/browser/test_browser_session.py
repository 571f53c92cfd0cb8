"""Journeys of a dashboard session in Chromium: sign in with a root key, a refused key,
a page asked for before signing in (and reached after), sign-out, and a session that
expires while the browser keeps its cookie."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from serving import Server

from .conftest import ServerFactory, new_context
from .kit import Watch, assert_accessible, sign_in, visit


def test_sign_in_lands_on_the_overview(page: Page, server: Server, watch: Watch) -> None:
    visit(page, "/ui/sign-in", watch)
    sign_in(page, server.root_key)
    expect(page.get_by_text(re.compile(r"Signed in as"))).to_be_visible()
    visit(page, "/ui/", watch)
    cookie = next(c for c in page.context.cookies() if c.get("name") == "ks_session")
    assert cookie.get("httpOnly") is True
    assert cookie.get("sameSite") == "Strict"


def test_the_root_sends_a_browser_to_sign_in(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_root_key_is_refused(page: Page, server: Server, watch: Watch) -> None:
    page.goto("/ui/sign-in")
    page.get_by_label(re.compile("root key", re.I)).fill("ksroot_this-is-not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    assert not [c for c in page.context.cookies() if c.get("name") == "ks_session"]
    watch.assert_quiet()
    assert_accessible(page)


def test_a_page_asked_for_first_is_reached_after_sign_in(page: Page, server: Server) -> None:
    page.goto("/ui/keys")
    expect(page).to_have_url(
        re.compile(r"/ui/sign-in\?next=%2Fui%2Fkeys|/ui/sign-in\?next=/ui/keys")
    )
    page.get_by_label(re.compile("root key", re.I)).fill(server.root_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/keys$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Keys")


def test_sign_out_ends_the_session(page: Page, server: Server) -> None:
    sign_in(page, server.root_key)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    page.goto("/ui/keys")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))


def test_an_expired_session_sends_you_to_sign_in(
    browser: Browser, start_server: ServerFactory, watch: Watch
) -> None:
    with start_server({"KEYSTEAD_WEB_SESSION_IDLE_S": "2"}) as short:
        context = new_context(browser, short)
        try:
            page = context.new_page()
            watch.attach(page)
            sign_in(page, short.root_key)
            page.goto("/ui/keys")
            expect(page).to_have_url(re.compile(r"/ui/keys$"))
            time.sleep(2.5)
            page.goto("/ui/keys")
            expect(page).to_have_url(re.compile(r"/ui/sign-in"))
            expect(page.get_by_role("status").filter(has_text="expired")).to_be_visible()
            page.get_by_label(re.compile("root key", re.I)).fill(short.root_key)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(re.compile(r"/ui/keys$"))
            watch.assert_quiet()
        finally:
            context.close()


def test_sign_in_and_move_around_by_keyboard(page: Page, server: Server) -> None:
    page.goto("/ui/sign-in")
    expect(page.get_by_label(re.compile("root key", re.I))).to_be_focused()  # autofocus
    page.keyboard.type(server.root_key)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/$"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
