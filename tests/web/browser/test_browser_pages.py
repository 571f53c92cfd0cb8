"""Every dashboard page a signed-in operator can reach, in Chromium: starting at the
overview, follow each same-origin ``/ui`` link (three clicks deep, one page per URL
shape: ids count as one) and hold each page to axe-core (no serious or critical
violation), no script error and no Content-Security-Policy refusal.

Every navigation entry answers 200: a link that fails anywhere fails the test."""

from __future__ import annotations

import re
import secrets
from collections import deque
from urllib.parse import urlsplit

from playwright.sync_api import Page

from serving import Server

from .kit import Watch, api, assert_accessible, sign_in

ID = re.compile(r"^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$")
SKIP = re.compile(r"^/ui/(static|data)/|^/ui/sign-(in|out)")
LIMIT = 60


def shape(path: str) -> str:
    """``/ui/keys/key_01...`` -> ``/ui/keys/{id}``; an owner's page -> ``/ui/owners/{x}``."""
    parts = ["{id}" if ID.match(part) else part for part in path.split("/")]
    if len(parts) == 4 and parts[2] == "owners":
        parts[3] = "{x}"
    return "/".join(parts)


def seed(server: Server) -> None:
    with api(server) as client:
        created = client.post("/v1/apis", json={"name": f"sweep-{secrets.token_hex(3)}"})
        assert created.status_code == 201, created.text
        for owner in ("acme", "globex"):
            client.put(f"/v1/owners/{owner}", json={}).raise_for_status()  # listed on /ui/owners
            answer = client.post(
                "/v1/keys",
                json={"api_id": created.json()["id"], "name": f"{owner} key", "owner_id": owner},
            )
            assert answer.status_code == 201, answer.text
            for _ in range(3):
                client.post("/v1/keys/verify", json={"key": answer.json()["key"]})
            client.post("/v1/keys/verify", json={"key": "ks_not-a-key"})


def links(page: Page, origin: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or not parts.path.startswith("/ui"):
            continue
        if SKIP.match(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def test_every_reachable_page_is_accessible(page: Page, server: Server, watch: Watch) -> None:
    seed(server)
    sign_in(page, server.root_key)
    queue: deque[tuple[str, int]] = deque([("/ui/", 0)])
    seen: set[str] = set()
    visited: dict[str, int] = {}
    while queue and len(visited) < LIMIT:
        url, depth = queue.popleft()
        key = shape(url.split("?")[0]) + ("?" if "?" in url else "")
        if key in seen:
            continue
        seen.add(key)
        response = page.goto(url)
        assert response is not None
        page.wait_for_load_state("networkidle")
        visited[url] = response.status
        watch.assert_quiet()
        assert_accessible(page)
        assert response.status == 200, (url, response.status)
        if depth < 3:
            queue.extend((link, depth + 1) for link in links(page, server.url))
    reached = {shape(u.split("?")[0]) for u, status in visited.items() if status == 200}
    expected = {"/ui/", "/ui/apis", "/ui/keys", "/ui/keys/new", "/ui/keys/{id}"}
    expected |= {"/ui/keys/{id}/edit", "/ui/plans", "/ui/owners", "/ui/owners/{x}"}
    expected |= {"/ui/roles", "/ui/root-keys", "/ui/secrets", "/ui/leaks", "/ui/incidents"}
    expected |= {"/ui/tokens", "/ui/webhooks", "/ui/alerts", "/ui/audit", "/ui/what-if"}
    assert expected <= reached, visited
