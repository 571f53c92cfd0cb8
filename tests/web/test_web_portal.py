"""The self-service portal: one owner's keys only, creation within the
provider's limits, roll and revoke, CSRF, escaping and branding. State is
asserted through the service, not through the pages."""

from __future__ import annotations

import html
import re

from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.service import Keystead

from .portalkit import portal

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&gt;&lt;img src=x"
_REVEALED = re.compile(r'<input id="reveal-value" type="text" readonly value="([^"]+)"')


def revealed(page: str) -> str:
    found = _REVEALED.search(page)
    assert found is not None, page
    return html.unescape(found.group(1))


async def _two_owners(ks: Keystead) -> tuple[str, str, str]:
    """An API with one key for acme and one for globex: (api, acme key, globex key)."""
    operator = await ks.workspaces.local_operator()
    api = await ks.apis.create(operator, name="payments")
    acme = await ks.keys.create(operator, api_id=api.id, owner_id="acme", name="acme-prod")
    globex = await ks.keys.create(operator, api_id=api.id, owner_id="globex", name="globex-secret")
    return api.id, acme.key.id, globex.key.id


async def test_an_owner_sees_only_its_own_keys(keystead: Keystead) -> None:
    _, acme_id, globex_id = await _two_owners(keystead)
    globex = await keystead.keys.get(await keystead.workspaces.local_operator(), globex_id)
    async with portal(keystead, "acme") as p:
        home = await p.client.get("/portal/")
        assert "acme-prod" in home.text and f"/portal/keys/{acme_id}" in home.text
        assert "globex" not in home.text and globex_id not in home.text
        mine = await p.client.get(f"/portal/keys/{acme_id}")
        assert mine.status_code == 200 and "acme-prod" in mine.text
        assert f'data-chart="/portal/data/keys/{acme_id}/usage"' in mine.text
        assert (await p.client.get(f"/portal/data/keys/{acme_id}/usage")).status_code == 200

        theirs = await p.client.get(f"/portal/keys/{globex_id}")
        assert theirs.status_code == 404
        assert "globex-secret" not in theirs.text and globex.start not in theirs.text
        for chart in ("usage", "latency"):
            data = await p.client.get(f"/portal/data/keys/{globex_id}/{chart}")
            assert data.status_code == 404
            assert data.headers["content-type"] == "application/json"
            assert "globex-secret" not in data.text and "series" not in data.text
        assert (await p.client.get("/portal/?owner_id=globex")).text.count("globex") == 0
        for verb in ("roll", "revoke"):
            refused = await p.post(f"/portal/keys/{globex_id}/{verb}", {"grace_period_s": "0"})
            assert refused.status_code == 404
            assert "globex-secret" not in refused.text
    after = await keystead.keys.get(await keystead.workspaces.local_operator(), globex_id)
    assert after.revoked_at is None and after.rotated_to is None and after.expires_at is None


async def test_create_within_the_limit_then_refused_past_it(
    keystead: Keystead, clock: ManualClock
) -> None:
    api_id, _, _ = await _two_owners(keystead)
    operator = await keystead.workspaces.local_operator()
    day = {"name": "day", "limit": 100, "duration_s": 86_400}
    await keystead.web_sessions.set_branding(
        operator,
        {"max_keys_per_owner": 2, "key_defaults": {"expires_in_s": 3600, "ratelimits": [day]}},
    )
    async with portal(keystead, "acme") as p:
        home = await p.client.get("/portal/")
        assert "You hold 1 of the 2 keys you may have." in home.text
        assert 'href="/portal/keys/new"' in home.text
        form = await p.client.get("/portal/keys/new")
        assert form.status_code == 200 and "Create a key" in form.text
        made = await p.post("/portal/keys/new", {"name": "acme-ci", "api_id": api_id})
        assert made.status_code == 201, made.text
        plaintext = revealed(made.text)
        assert made.text.count(plaintext) == 1  # shown once, in the reveal field only

        keys = (await keystead.keys.list(operator, owner_id="acme")).items
        assert len(keys) == 2
        new = next(k for k in keys if k.name == "acme-ci")
        assert new.owner_id == "acme" and new.api_id == api_id
        assert new.expires_at is not None
        assert new.expires_at.timestamp() == clock.now() + 3600
        assert new.limits["ratelimits"][0]["limit"] == 100
        assert (await keystead.verify(plaintext, VerifyContext())).valid
        shown = await p.client.get(f"/portal/keys/{new.id}")
        assert plaintext not in shown.text  # never again

        refused = await p.post("/portal/keys/new", {"name": "one too many", "api_id": api_id})
        assert refused.status_code == 409
        assert "You already hold the 2 keys your provider allows." in refused.text
        assert len((await keystead.keys.list(operator, owner_id="acme")).items) == 2
        home = await p.client.get("/portal/")
        assert "You have reached your limit of 2 keys." in home.text
        assert 'href="/portal/keys/new"' not in home.text

        # a key of an API outside the choices is refused, nothing is stored
        other = await keystead.apis.create(operator, name="other")
        await keystead.keys.revoke(operator, new.id)
        outside = await p.post("/portal/keys/new", {"name": "x", "api_id": other.id})
        assert outside.status_code == 422
        assert "Choose one of the APIs listed." in outside.text
        clock.advance(1)
        again = await p.post("/portal/keys/new", {"name": "after revoke", "api_id": api_id})
        assert again.status_code == 201  # a revoked key no longer counts
    names = {k.name for k in (await keystead.keys.list(operator, owner_id="acme")).items}
    assert names == {"acme-prod", "acme-ci", "after revoke"}


async def test_roll_and_revoke_change_the_key(keystead: Keystead, clock: ManualClock) -> None:
    _, acme_id, _ = await _two_owners(keystead)
    operator = await keystead.workspaces.local_operator()
    async with portal(keystead, "acme") as p:
        page = await p.client.get(f"/portal/keys/{acme_id}")
        assert "Roll key" in page.text and "Revoke key" in page.text
        assert f"Revoke key &#39;acme-prod&#39; ({acme_id})? It stops working at once." in page.text
        bad = await p.post(f"/portal/keys/{acme_id}/roll", {"grace_period_s": "12345"})
        assert bad.status_code == 422
        assert (await keystead.keys.get(operator, acme_id)).rotated_to is None

        rolled = await p.post(f"/portal/keys/{acme_id}/roll", {"grace_period_s": "3600"})
        assert rolled.status_code == 201, rolled.text
        assert "Key rolled" in rolled.text
        plaintext = revealed(rolled.text)
        old = await keystead.keys.get(operator, acme_id)
        assert old.rotated_to is not None
        assert old.expires_at is not None and old.expires_at.timestamp() == clock.now() + 3600
        new = await keystead.keys.get(operator, old.rotated_to)
        assert new.owner_id == "acme" and new.rotated_from == acme_id
        assert (await keystead.verify(plaintext, VerifyContext())).valid
        again = await p.post(f"/portal/keys/{acme_id}/roll", {"grace_period_s": "0"})
        assert again.status_code == 409  # already rolled

        revoked = await p.post(f"/portal/keys/{new.id}/revoke")
        assert revoked.status_code == 303
        assert revoked.headers["location"] == f"/portal/keys/{new.id}?done=revoked"
        assert (await keystead.keys.get(operator, new.id)).revoked_at is not None
        assert not (await keystead.verify(plaintext, VerifyContext())).valid
        shown = await p.client.get(revoked.headers["location"])
        assert "The key was revoked." in shown.text and "Revoke key" not in shown.text


async def test_posts_without_the_csrf_token_change_nothing(keystead: Keystead) -> None:
    api_id, acme_id, _ = await _two_owners(keystead)
    operator = await keystead.workspaces.local_operator()
    async with portal(keystead, "acme") as p:
        created = await p.client.post("/portal/keys/new", data={"name": "x", "api_id": api_id})
        assert created.status_code == 403
        revoked = await p.client.post(f"/portal/keys/{acme_id}/revoke")
        assert revoked.status_code == 403
        wrong = await p.client.post(f"/portal/keys/{acme_id}/revoke", data={"csrf": "nope"})
        assert wrong.status_code == 403
        rolled = await p.client.post(f"/portal/keys/{acme_id}/roll", data={"grace_period_s": "0"})
        assert rolled.status_code == 403
    keys = (await keystead.keys.list(operator, owner_id="acme")).items
    assert [(k.id, k.revoked_at, k.rotated_to) for k in keys] == [(acme_id, None, None)]


async def test_a_portal_session_cannot_open_dashboard_pages(keystead: Keystead) -> None:
    await _two_owners(keystead)
    async with portal(keystead, "acme") as p:
        for path in ("/ui/", "/ui/keys", "/ui/what-if", "/ui/data/overview/requests"):
            answer = await p.client.get(path)
            assert answer.status_code == 403, path
            assert "globex" not in answer.text
        posted = await p.post("/ui/what-if", {"target": "", "quota_limit": "1"})
        assert posted.status_code == 403


async def test_key_names_are_escaped_in_the_portal(keystead: Keystead) -> None:
    api_id, _, _ = await _two_owners(keystead)
    operator = await keystead.workspaces.local_operator()
    theirs = await keystead.keys.create(operator, api_id=api_id, owner_id="acme", name=XSS)
    async with portal(keystead, "acme") as p:
        for path in ("/portal/", f"/portal/keys/{theirs.key.id}"):
            page = await p.client.get(path)
            assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
            assert ESCAPED in page.text
        made = await p.post("/portal/keys/new", {"name": XSS, "api_id": api_id})
        assert made.status_code == 201
        assert "<script>alert(1)" not in made.text and ESCAPED in made.text
        refused = await p.post("/portal/keys/new", {"name": XSS, "api_id": f"api_{XSS}"})
        assert refused.status_code == 422 and "<script>alert(1)" not in refused.text


async def test_branding_and_sign_out(keystead: Keystead) -> None:
    await _two_owners(keystead)
    operator = await keystead.workspaces.local_operator()
    await keystead.web_sessions.set_branding(
        operator,
        {"name": "Acme Cloud", "logo_url": "https://cdn.example/logo.png", "accent": "#aa3300"},
    )
    back = "https://app.example/settings"
    async with portal(keystead, "acme", return_url=back) as p:
        home = await p.client.get("/portal/")
        assert "<title>Your keys · Acme Cloud</title>" in home.text
        assert '<img src="https://cdn.example/logo.png" alt=""' in home.text
        assert f'<a class="return-link" href="{back}">Back to Acme Cloud</a>' in home.text
        assert 'href="/portal/brand.css"' in home.text and " style=" not in home.text
        css = await p.client.get("/portal/brand.css")
        assert "--accent: #aa3300;" in css.text
        out = await p.post("/portal/sign-out")
        assert out.status_code == 303 and out.headers["location"] == back
        assert (await p.client.get("/portal/")).status_code == 401


async def test_a_link_scoped_to_an_api_creates_keys_there_only(keystead: Keystead) -> None:
    api_id, acme_id, _ = await _two_owners(keystead)
    operator = await keystead.workspaces.local_operator()
    other = await keystead.apis.create(operator, name="reports")
    elsewhere = await keystead.keys.create(operator, api_id=other.id, owner_id="acme", name="rpt")
    async with portal(keystead, "acme", api_ids=[other.id]) as p:
        home = await p.client.get("/portal/")
        assert "rpt" in home.text and "acme-prod" not in home.text
        assert (await p.client.get(f"/portal/keys/{acme_id}")).status_code == 404
        form = await p.client.get("/portal/keys/new")
        assert f'name="api_id" value="{other.id}"' in form.text and api_id not in form.text
        refused = await p.post("/portal/keys/new", {"name": "x", "api_id": api_id})
        assert refused.status_code == 422
        made = await p.post("/portal/keys/new", {"name": "rpt-2"})  # the one API
        assert made.status_code == 201
    keys = (await keystead.keys.list(operator, owner_id="acme")).items
    assert {(k.name, k.api_id) for k in keys} == {
        ("acme-prod", api_id),
        ("rpt", other.id),
        ("rpt-2", other.id),
    }
    assert elsewhere.key.id in {k.id for k in keys}


async def test_usage_charts_count_only_the_owners_own_requests(
    keystead: Keystead, clock: ManualClock
) -> None:
    operator = await keystead.workspaces.local_operator()
    api = await keystead.apis.create(operator, name="search")
    mine = await keystead.keys.create(operator, api_id=api.id, owner_id="acme")
    theirs = await keystead.keys.create(operator, api_id=api.id, owner_id="globex")
    for made, uses in ((mine, 2), (theirs, 5)):
        for _ in range(uses):
            assert (await keystead.verify(made.plaintext, VerifyContext())).valid
    await keystead.flush()
    clock.advance(60)
    async with portal(keystead, "acme") as p:
        home = await p.client.get("/portal/")
        assert 'data-chart="/portal/data/usage"' in home.text
        total = (await p.client.get("/portal/data/usage?granularity=minute")).json()
        assert [s["label"] for s in total["series"]] == ["Succeeded", "Refused"]
        assert sum(total["series"][0]["values"]) == 2
        per_key = (await p.client.get(f"/portal/data/keys/{mine.key.id}/usage")).json()
        assert sum(sum(s["values"]) for s in per_key["series"]) == 2
