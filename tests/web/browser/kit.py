"""Helpers for the browser tests: find Chromium, sign in, check a page with axe-core,
watch a page for script errors and Content-Security-Policy refusals, and talk to the
server the way a customer's backend would (httpx for the API, ``curl`` for verify)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect

from serving import Server

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM_ENV = "KEYSTEAD_TEST_CHROMIUM"
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def chromium_path() -> str | None:
    """The Chromium binary: ``$KEYSTEAD_TEST_CHROMIUM``, else Debian's ``/usr/bin/chromium``
    (``make system-deps`` installs it), else ``chromium`` on the PATH."""
    for candidate in (os.environ.get(CHROMIUM_ENV), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass
class Watch:
    """What a page said that a test should not ignore: uncaught script errors, CSP
    refusals logged to the console, and dialogs (``alert`` from an injected script)."""

    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def assert_quiet(self) -> None:
        assert not self.errors, f"script errors: {self.errors}"
        assert not self.csp, f"Content-Security-Policy refusals: {self.csp}"


def axe_report(page: Page) -> list[dict[str, Any]]:
    """The axe-core violations of the page as it is now (WCAG 2.x A/AA and best
    practices). axe is evaluated through the DevTools protocol, which the page's CSP
    does not govern, so the page under test keeps its real policy."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
            }));
        }"""
    )
    return violations


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page."""
    blocking = [v for v in axe_report(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe-core on {page.url}:\n" + json.dumps(blocking, indent=2)


def visit(page: Page, path: str, watch: Watch) -> None:
    """Load ``path``; it answers below 400, draws with no script error or CSP refusal,
    and has no serious or critical accessibility violation."""
    response = page.goto(path)
    assert response is not None and response.status < 400, (path, response and response.status)
    page.wait_for_load_state("networkidle")
    watch.assert_quiet()
    assert_accessible(page)


def sign_in(page: Page, root_key: str) -> None:
    """Sign in on ``/ui/sign-in`` with a root key and land on the overview."""
    page.goto("/ui/sign-in")
    page.get_by_label(re.compile("root key", re.I)).fill(root_key)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(re.compile(r"/ui/(\?.*)?$"))
    expect(page.get_by_role("button", name=re.compile("sign out", re.I))).to_be_visible()


def api(server: Server, root_key: str | None = None) -> httpx.Client:
    """An HTTP API client for ``server`` as its root key (or ``root_key``)."""
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {root_key or server.root_key}"},
        timeout=10,
    )


def curl_verify(server: Server, key: str) -> dict[str, Any]:
    """``POST /v1/keys/verify`` for ``key`` with ``curl``, as a customer's backend would."""
    answer = subprocess.run(
        [
            "curl",
            "-sS",
            "--fail-with-body",
            "-X",
            "POST",
            f"{server.url}/v1/keys/verify",
            "-H",
            f"Authorization: Bearer {server.root_key}",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ],
        input=json.dumps({"key": key}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    verdict: dict[str, Any] = json.loads(answer.stdout)
    return verdict


def csrf_less_post(page: Page, path: str) -> int:
    """The status of a same-origin ``fetch`` POST from the page, with the session cookie
    and no CSRF token (neither header nor form field)."""
    status: int = page.evaluate(
        """async (path) => {
            const answer = await fetch(path, {
                method: 'POST', credentials: 'same-origin', redirect: 'manual',
                headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                body: 'confirm=1',
            });
            return answer.status;
        }""",
        path,
    )
    return status


__all__ = [
    "AXE",
    "Watch",
    "api",
    "assert_accessible",
    "axe_report",
    "chromium_path",
    "csrf_less_post",
    "curl_verify",
    "sign_in",
    "visit",
]
