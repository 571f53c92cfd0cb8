"""The harness itself: axe-core runs inside a page held to the dashboard's strict
Content-Security-Policy and finds real violations; the watch hears CSP refusals and
dialogs. (Pages are fulfilled by Playwright on the server's origin, so this holds
whatever the dashboard looks like.)"""

from __future__ import annotations

import hashlib
import re

from playwright.sync_api import Page, Route

from serving import Server

from .kit import AXE, Watch, assert_accessible, axe_report

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
BROKEN = """<!doctype html><html><head><title>broken</title></head><body>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button></button>
<script>alert('inline ran')</script>
</body></html>"""
CLEAN = """<!doctype html><html lang="en"><head><title>clean</title></head><body>
<main><h1>Keys</h1><label for="q">Search</label><input id="q" name="q">
<button type="submit">Search</button></main></body></html>"""


def serve(page: Page, server: Server, html: str) -> None:
    def fulfill(route: Route) -> None:
        route.fulfill(
            status=200,
            body=html,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP},
        )

    page.route(f"{server.url}/harness/**", fulfill)


def test_axe_finds_violations_under_a_strict_csp(page: Page, server: Server, watch: Watch) -> None:
    serve(page, server, BROKEN)
    page.goto("/harness/broken")
    violations = {v["id"]: v["impact"] for v in axe_report(page)}
    assert violations.get("image-alt") == "critical"
    assert violations.get("button-name") == "critical"
    assert watch.dialogs == []  # the inline script was refused, not run
    assert any("inline" in refusal for refusal in watch.csp), watch.csp


def test_a_clean_page_passes(page: Page, server: Server, watch: Watch) -> None:
    serve(page, server, CLEAN)
    page.goto("/harness/clean")
    assert_accessible(page)
    watch.assert_quiet()


def test_the_vendored_axe_matches_its_record() -> None:
    record = (AXE.parent / "VENDOR.md").read_text()
    digest = hashlib.sha256(AXE.read_bytes()).hexdigest()
    assert f"`{digest}`" in record
    version = re.search(r"axe v(\d+\.\d+\.\d+)", AXE.read_text()[:200])
    assert version is not None and f"| {version.group(1)} |" in record
