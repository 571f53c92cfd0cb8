"""Every route of the operations pages (webhooks, alerts, audit, plans, owners,
roles, root keys): a page needs a session, and an action refuses a request
without the CSRF token before anything runs."""

from __future__ import annotations

import re

from keystead.service import Keystead
from keystead.web.routing import ROUTES

from .webkit import open_browser

AREAS = ("/ui/webhooks", "/ui/alerts", "/ui/audit", "/ui/plans", "/ui/owners", "/ui/roles")
PARAMS = {
    "webhook_id": "wh_01JXT21Q00B7VSREEV9DZ3DZRQ",
    "delivery_id": "dlv_01JXT21Q00X1QQFQJ4M421GY3E",
    "alert_id": "alr_01JXT21Q00X1QQFQJ4M421GY3E",
    "rule_id": "arl_01JXT21Q00X1QQFQJ4M421GY3E",
    "plan_id": "plan_01JXT21Q00X1QQFQJ4M421GY3E",
    "owner_id": "acme",
    "root_key_id": "rk_01JXT21Q00X1QQFQJ4M421GY3E",
}


def _ours() -> list[tuple[str, str]]:
    found = []
    for route in ROUTES:
        if route.path.startswith(AREAS) or route.path.startswith("/ui/root-keys"):
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS[m.group(1)], route.path)
            found.append((route.method, path))
    return found


def test_the_areas_are_registered() -> None:
    paths = {path for _, path in _ours()}
    for area in (*AREAS, "/ui/root-keys", "/ui/alerts/rules", "/ui/webhooks/deliveries"):
        assert area in paths, area
    assert sum(1 for method, _ in _ours() if method == "POST") >= 20


async def test_pages_need_a_session_and_actions_a_token(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        for method, path in _ours():
            if method == "GET":
                answer = await b.client.get(path)
                assert answer.status_code == 303, path
                assert answer.headers["location"].startswith("/ui/sign-in?next="), path
        audit_before = (await keystead.audit.list(b.operator, limit=1)).items[0].seq
        await b.sign_in()
        signed_in_seq = (await keystead.audit.list(b.operator, limit=1)).items[0].seq
        assert signed_in_seq > audit_before  # the sign-in itself is audited
        for method, path in _ours():
            if method == "POST":
                answer = await b.client.post(path, data={"name": "x", "owner_id": "acme"})
                assert answer.status_code == 403, path
                assert "security token is missing or wrong" in answer.text, path
        after = (await keystead.audit.list(b.operator, limit=1)).items[0].seq
        assert after == signed_in_seq  # nothing ran: no change was audited
