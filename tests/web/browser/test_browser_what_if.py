"""The what-if journey in Chromium: keys of two owners on one plan, many
verifications for one owner and few for the other through ``/v1/keys/verify``;
on ``/ui/what-if`` the operator proposes a quota below the busy owner's count,
runs the replay, and the page names that owner (and not the quiet one) among
those who would have been refused, and draws the chart."""

from __future__ import annotations

import re
import secrets
import time

import httpx
from playwright.sync_api import Page, expect

from serving import Server

from .kit import Watch, api, assert_accessible, sign_in, visit

BUSY, QUIET, PROPOSED = 8, 2, 5


def seed(server: Server, suffix: str) -> tuple[str, str, str, str]:
    """A plan, one key for each of two owners on it, ``BUSY`` and ``QUIET``
    verifications; returns (plan id, plan name, busy owner, quiet owner)."""
    plan_name, busy, quiet = f"starter-{suffix}", f"busy-{suffix}", f"quiet-{suffix}"
    with api(server) as client:
        plan = client.post("/v1/plans", json={"name": plan_name})
        assert plan.status_code == 201, plan.text
        plan_id = plan.json()["id"]
        made = client.post("/v1/apis", json={"name": f"what-if-{suffix}"})
        assert made.status_code == 201, made.text
        for owner, count in ((busy, BUSY), (quiet, QUIET)):
            key = client.post(
                "/v1/keys",
                json={
                    "api_id": made.json()["id"],
                    "name": f"{owner} key",
                    "owner_id": owner,
                    "plan_id": plan_id,
                },
            )
            assert key.status_code == 201, key.text
            server.revealed.append(key.json()["key"])
            for _ in range(count):
                verdict = client.post("/v1/keys/verify", json={"key": key.json()["key"]})
                assert verdict.status_code == 200 and verdict.json()["valid"] is True
        wait_for_records(client, plan_id)
    return plan_id, plan_name, busy, quiet


def wait_for_records(client: httpx.Client, plan_id: str) -> None:
    """Usage records are written shortly after the verifications: wait until the
    same replay through the API sees them all."""
    body = {"plan_id": plan_id, "proposal": {"quota": {"limit": PROPOSED, "period": "day"}}}
    deadline = time.monotonic() + 20
    while True:
        answer = client.post("/v1/analytics/what-if", json=body)
        assert answer.status_code == 200, answer.text
        if answer.json()["totals"]["requests"] >= BUSY + QUIET or time.monotonic() > deadline:
            assert answer.json()["totals"]["requests"] == BUSY + QUIET, answer.json()
            return
        time.sleep(0.3)


def test_a_replay_names_the_owner_pushed_over_the_proposed_limit(
    page: Page, server: Server, watch: Watch
) -> None:
    suffix = secrets.token_hex(3)
    plan_id, plan_name, busy, quiet = seed(server, suffix)
    sign_in(page, server.root_key)
    visit(page, "/ui/what-if", watch)
    page.get_by_label("Plan or API").select_option(label=plan_name)
    page.get_by_label("Quota (requests per period)").fill(str(PROPOSED))
    page.get_by_label("Quota period").select_option("day")
    page.get_by_label(re.compile("^Days to replay")).fill("1")
    page.get_by_role("button", name="Run replay").click()

    expect(page.get_by_role("heading", name="Replay result")).to_be_visible()
    watch.assert_quiet()
    expect(page.locator("#what-if-totals")).to_contain_text(f"{BUSY + QUIET}")
    expect(page.get_by_text(plan_id)).to_be_visible()
    owners = page.get_by_role("table", name="Owners by refusals")
    expect(owners.get_by_role("cell", name=busy, exact=True)).to_be_visible()
    expect(owners.get_by_role("cell", name=str(BUSY - PROPOSED), exact=True)).to_be_visible()
    expect(owners).not_to_contain_text(quiet)
    keys = page.get_by_role("table", name="Keys by refusals")
    expect(keys).to_contain_text(f"{busy} key")
    expect(keys).not_to_contain_text(quiet)

    chart = page.locator("figure[data-chart-inline]")
    expect(chart).to_have_attribute("data-chart-ready", "1")
    expect(chart.locator("canvas")).to_have_count(1)
    assert chart.locator("canvas").bounding_box() is not None
    expect(chart.locator(".u-legend")).to_contain_text("Would be refused")
    assert_accessible(page)
    watch.assert_quiet()
