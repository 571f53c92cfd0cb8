"""The what-if page: real verifications recorded, a proposed quota replayed on
the server, and the owners it would have refused named on the page. The
expected refusals are worked out here: a daily quota of N refuses every use
of a day past the N-th."""

from __future__ import annotations

import html
import re

import orjson
from markupsafe import escape

from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.service import Keystead

from .keyskit import browser

XSS_OWNER = "<b>initech</b>\"'"
USES = {"acme": 8, "globex": 3, XSS_OWNER: 6}
QUOTA = 5
_INLINE = re.compile(r'data-chart-inline="([^"]+)"')


def _section(page: str, heading: str) -> str:
    """The part of the page from ``heading`` to the next heading."""
    start = page.index(heading)
    end = page.find("<h3", start + len(heading))
    return page[start : end if end != -1 else len(page)]


async def _record_usage(ks: Keystead, clock: ManualClock) -> tuple[str, str, dict[str, str]]:
    """A free plan with one key per owner, each verified ``USES[owner]`` times
    within the same UTC day: (api id, plan id, key id by owner)."""
    operator = await ks.workspaces.local_operator()
    api = await ks.apis.create(operator, name="search")
    plan = await ks.plans.create(operator, name="free tier")
    keys: dict[str, str] = {}
    for owner, uses in USES.items():
        made = await ks.keys.create(
            operator, api_id=api.id, owner_id=owner, plan_id=plan.id, name=f"{owner} key"
        )
        keys[owner] = made.key.id
        for _ in range(uses):
            assert (await ks.verify(made.plaintext, VerifyContext())).valid
            clock.advance(1)
    await ks.flush()
    clock.advance(60)
    return api.id, plan.id, keys


async def test_the_replay_names_the_owners_over_a_proposed_quota(
    keystead: Keystead, clock: ManualClock
) -> None:
    assert clock.now() % 86_400 < 86_400 - 600  # every use falls on the same UTC day
    _, plan_id, keys = await _record_usage(keystead, clock)
    expected = {owner: max(0, uses - QUOTA) for owner, uses in USES.items()}
    async with browser(keystead) as b:
        form = await b.client.get(f"/ui/what-if?plan_id={plan_id}")
        assert form.status_code == 200
        assert f'<option value="plan:{plan_id}" selected>free tier</option>' in form.text
        assert "<h1>What-if replay</h1>" in form.text and "free tier" in form.text
        assert 'href="/ui/what-if" aria-current="page"' in form.text
        answer = await b.post(
            "/ui/what-if",
            {
                "target": f"plan:{plan_id}",
                "quota_limit": str(QUOTA),
                "quota_period": "day",
                "days": "1",
                "granularity": "hour",
            },
        )
        assert answer.status_code == 200, answer.text
        page = answer.text
    assert "<script" not in page.split("</head>", 1)[1]
    assert "<b>initech" not in page and "&lt;b&gt;initech&lt;/b&gt;&#34;&#39;" in page
    totals = _section(page, 'id="what-if-totals"')
    assert f"<dt>Requests replayed</dt><dd>{sum(USES.values())}</dd>" in totals
    assert f"<dd>{sum(expected.values())} (" in totals
    owners = re.sub(r"\s+", " ", _section(page, "Owners who would have been refused"))
    for owner, refused in expected.items():
        shown = str(escape(owner))
        if refused:
            num = '<td class="num">'
            row = f"<td>{shown}</td> {num}{USES[owner]}</td> {num}{refused}</td>"
            assert row in owners, owners
        else:
            assert shown not in owners  # globex stays within the quota
    refused_keys = _section(page, "Keys that would have been refused")
    assert keys["acme"] in refused_keys and keys[XSS_OWNER] in refused_keys
    assert keys["globex"] not in refused_keys
    found = _INLINE.search(page)
    assert found is not None
    chart = orjson.loads(html.unescape(found.group(1)))
    labels = [s["label"] for s in chart["series"]]
    assert labels == ["Requests", "Would be refused"]
    assert sum(chart["series"][0]["values"]) == sum(USES.values())
    assert sum(chart["series"][1]["values"]) == sum(expected.values())
    assert len(chart["x"]) == len(chart["series"][0]["values"])


async def test_a_rate_limit_on_one_key(keystead: Keystead, clock: ManualClock) -> None:
    _, _, keys = await _record_usage(keystead, clock)
    # 2 an hour (GCRA: a burst of 2, then one every 30 minutes): of the 8 uses a
    # second apart, 2 pass and 6 are refused
    async with browser(keystead) as b:
        answer = await b.post(
            "/ui/what-if",
            {
                "key_id": keys["acme"],
                "rl_name": ["hour", ""],
                "rl_limit": ["2", ""],
                "rl_duration_s": ["3600", ""],
                "days": "1",
            },
        )
    assert answer.status_code == 200, answer.text
    assert "<dt>Would have been refused</dt><dd>6 (75.0%)</dd>" in answer.text
    assert "globex" not in _section(answer.text, "Owners who would have been refused")


async def test_bad_input_is_shown_on_the_form(keystead: Keystead, clock: ManualClock) -> None:
    _, plan_id, _ = await _record_usage(keystead, clock)
    async with browser(keystead) as b:
        nothing = await b.post("/ui/what-if", {"target": f"plan:{plan_id}", "days": "1"})
        assert nothing.status_code == 422
        assert "Propose a rate limit or a quota to replay." in nothing.text
        unknown = await b.post("/ui/what-if", {"key_id": "key_nope", "quota_limit": "5"})
        assert unknown.status_code in (404, 422)
        assert 'role="alert"' in unknown.text and "Replay result" not in unknown.text
        many = await b.post(
            "/ui/what-if", {"target": f"plan:{plan_id}", "quota_limit": "5", "days": "99"}
        )
        assert many.status_code == 422 and "days is 1 to 31" in many.text
        missing = await b.post("/ui/what-if", {"quota_limit": "5"})
        assert missing.status_code == 422
        assert "Choose a plan or an API, or type a key id." in missing.text
    async with browser(keystead, permissions=["keys.read"]) as narrow:
        refused = await narrow.client.get("/ui/what-if")
        assert refused.status_code == 403
        assert 'href="/ui/what-if"' not in (await narrow.client.get("/ui/keys")).text
