"""Signing in and out of the dashboard, its cookie, CSRF and session expiry."""

from __future__ import annotations

from keystead.core.clock import ManualClock
from keystead.service import Keystead

from .webkit import form_token, open_browser, set_cookie_headers


async def test_sign_in_sets_a_strict_http_only_cookie(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        answer = await b.sign_in(next_url="/ui/?from=sign-in")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/?from=sign-in"
        (cookie,) = set_cookie_headers(answer, "ks_session")
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
        assert "secure" not in flags  # plain http, no https public URL
        assert b.root_key not in cookie
        page = await b.client.get("/ui/")
        assert page.status_code == 200
        assert "Sign out" in page.text


async def test_the_cookie_is_secure_behind_https(keystead: Keystead) -> None:
    async with open_browser(keystead, base_url="https://keystead.test") as b:
        answer = await b.sign_in()
        (cookie,) = set_cookie_headers(answer, "ks_session")
        assert "secure" in [part.strip().lower() for part in cookie.split(";")]


async def test_a_wrong_key_is_refused_with_the_form_again(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        answer = await b.sign_in("ksroot_notarealkey")
        assert answer.status_code == 401
        assert "That root key was not accepted." in answer.text
        assert 'aria-invalid="true"' in answer.text
        assert not set_cookie_headers(answer, "ks_session")
        assert (await b.client.get("/ui/")).status_code == 303


async def test_failed_sign_ins_spend_the_brute_force_allowance(
    limited_keystead: Keystead,
) -> None:
    async with open_browser(limited_keystead) as b:
        limit = limited_keystead.settings.failed_attempts_limit
        statuses = [(await b.sign_in("ksroot_wrong")).status_code for _ in range(limit + 1)]
        assert statuses == [401] * limit + [429]
        blocked = await b.sign_in()  # even the right key, once the address is blocked
        assert blocked.status_code == 429
        assert not set_cookie_headers(blocked, "ks_session")
        assert "too many failed attempts" in blocked.text
        assert int(blocked.headers["retry-after"]) > 0


async def test_next_must_be_a_dashboard_path(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        for target in (
            "//evil.example/",
            "https://evil.example/ui/",
            "/ui\\@evil",
            "/uix",
            "/v1/keys",
        ):
            b.client.cookies.clear()
            answer = await b.sign_in(next_url=target)
            assert answer.status_code == 303, target
            assert answer.headers["location"] == "/ui/", target


async def test_sign_in_form_needs_its_double_submit_token(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        answer = await b.client.post("/ui/sign-in", data={"root_key": b.root_key})
        assert answer.status_code == 403
        assert not set_cookie_headers(answer, "ks_session")
        form = await b.client.get("/ui/sign-in")
        b.client.cookies.delete("ks_csrf")
        token = form_token(form.text)
        refused = await b.client.post("/ui/sign-in", data={"root_key": b.root_key, "csrf": token})
        assert refused.status_code == 403


async def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(
    keystead: Keystead,
) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        for headers, data in (({}, {}), ({"x-csrf-token": "forged"}, {}), ({}, {"csrf": "x"})):
            answer = await b.client.post("/ui/sign-out", headers=headers, data=data)
            assert answer.status_code == 403
            assert "security token" in answer.text
            assert (await b.client.get("/ui/")).status_code == 200  # still signed in
        htmx = await b.client.post("/ui/sign-out", headers={"hx-request": "true"})
        assert htmx.status_code == 403
        assert htmx.headers["hx-retarget"] == "#flash"
        assert htmx.text.startswith('<div role="alert"')
        token = await b.csrf()
        out = await b.client.post("/ui/sign-out", headers={"x-csrf-token": token})
        assert out.status_code == 303
        assert out.headers["location"] == "/ui/sign-in"
        assert (await b.client.get("/ui/")).status_code == 303


async def test_an_idle_session_expires_to_the_sign_in_page(
    keystead: Keystead, clock: ManualClock
) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        clock.advance(keystead.settings.web_session_idle_s + 1)
        answer = await b.client.get("/ui/")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/sign-in?next=%2Fui%2F&expired=1"
        page = await b.client.get(answer.headers["location"])
        assert "Your session expired" in page.text
        data = await b.client.get("/ui/data/overview/requests")
        assert data.status_code == 401


async def test_a_session_ends_at_its_absolute_expiry_however_busy(
    keystead: Keystead, clock: ManualClock
) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        step = keystead.settings.web_session_idle_s / 2
        elapsed = 0.0
        while elapsed + step < keystead.settings.web_session_max_s:
            clock.advance(step)
            elapsed += step
            assert (await b.client.get("/ui/")).status_code == 200
        clock.advance(step)
        answer = await b.client.get("/ui/")
        assert answer.status_code == 303
        assert "expired=1" in answer.headers["location"]


async def test_htmx_requests_are_sent_to_sign_in_by_header(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        answer = await b.client.get("/ui/", headers={"hx-request": "true"})
        assert answer.status_code == 204
        assert answer.headers["hx-redirect"] == "/ui/sign-in"
