"""The overview: sections by permission, escaped user data, chart data."""

from __future__ import annotations

from urllib.parse import urlsplit

from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.service import Keystead

from .webkit import form_token, open_browser, set_cookie_headers

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


async def test_user_data_is_rendered_escaped(keystead: Keystead, clock: ManualClock) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="payments")
        created = await keystead.keys.create(
            b.operator, api_id=api.id, name=XSS, owner_id=f"owner{XSS}"
        )
        for _ in range(3):
            await keystead.verify(created.plaintext, VerifyContext())
        await keystead.flush()
        clock.advance(60)
        await b.sign_in()
        page = await b.client.get("/ui/")
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&gt;&lt;img src=x" in page.text
        assert created.key.id in page.text  # the busiest key is listed
        assert created.plaintext not in page.text
        assert "Top owners" in page.text


async def test_sections_follow_the_permissions(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        narrow = await keystead.root_keys.create(
            b.operator, name="alerts only", permissions=["alerts.read"]
        )
        await b.sign_in(narrow.plaintext)
        page = await b.client.get("/ui/")
        assert page.status_code == 200
        assert "Open alerts" in page.text
        for hidden in ("Recent audit entries", "Webhook dead letters", "Top keys", "Traffic"):
            assert hidden not in page.text
        assert 'href="/ui/alerts"' in page.text  # the nav lists what it may open
        for area in ("/ui/keys", "/ui/audit", "/ui/root-keys", "/ui/webhooks"):
            assert f'href="{area}"' not in page.text
        refused = await b.client.get("/ui/data/overview/requests")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/json"
        assert "lacks the 'apis.read' permission" in refused.json()["error"]


async def test_full_overview_and_chart_data(keystead: Keystead, clock: ManualClock) -> None:
    async with open_browser(keystead) as b:
        api = await keystead.apis.create(b.operator, name="search")
        created = await keystead.keys.create(b.operator, api_id=api.id, name="busy")
        await keystead.verify(created.plaintext, VerifyContext())
        await keystead.verify("ksk_not_a_key", VerifyContext())
        await keystead.flush()
        clock.advance(60)
        await b.sign_in()
        page = await b.client.get("/ui/")
        for section in ("Traffic", "Top keys", "Open alerts", "Recent audit entries"):
            assert section in page.text
        assert "Webhook dead letters" in page.text
        assert 'data-chart="/ui/data/overview/requests"' in page.text
        answer = await b.client.get("/ui/data/overview/requests?granularity=minute")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["cache-control"] == "no-store"
        body = answer.json()
        assert body["unit"] == "requests"
        assert [s["label"] for s in body["series"]] == ["Succeeded", "Refused"]
        assert len(body["x"]) == len(body["series"][0]["values"]) in (60, 61)
        assert body["x"] == sorted(body["x"]) and body["x"][1] - body["x"][0] == 60
        assert sum(body["series"][0]["values"]) == 1
        rate = (await b.client.get("/ui/data/overview/success-rate?granularity=minute")).json()
        assert 100.0 in rate["series"][0]["values"]
        bad = await b.client.get("/ui/data/overview/requests?granularity=week")
        assert bad.status_code == 422


async def test_a_portal_session_cannot_open_the_dashboard(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        link = await keystead.web_sessions.create_portal_link(b.operator, "customer-1")
        target = urlsplit(link.url)
        enter = await b.client.get(f"{target.path}?{target.query}")
        assert enter.status_code == 200
        assert "data-autosubmit" in enter.text
        token = link.url.split("token=", 1)[1]
        assert f'name="token" value="{token}"' in enter.text
        entered = await b.client.post(
            "/portal/enter", data={"csrf": form_token(enter.text), "token": token}
        )
        assert entered.status_code == 303
        assert entered.headers["location"] == "/portal/"
        (cookie,) = set_cookie_headers(entered, "ks_portal")
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        dashboard = await b.client.get("/ui/")
        assert dashboard.status_code == 403
        assert "portal session cannot open the dashboard" in dashboard.text
        reload = await b.client.get(f"{target.path}?{target.query}")
        again = await b.client.post(
            "/portal/enter", data={"csrf": form_token(reload.text), "token": token}
        )
        assert again.status_code == 401  # one-time
        assert "expired or was already used" in again.text


async def test_a_dashboard_session_cannot_open_portal_pages(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        answer = await b.client.get("/portal/brand.css")
        assert answer.status_code == 403
