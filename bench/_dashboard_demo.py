"""A demo ``keystead serve`` for the dashboard's screenshots and its Lighthouse run.

Not a benchmark itself: ``bench/lighthouse.py`` and ``scripts/dashboard_screenshots.py``
import it. ``demo_server()`` runs ``keystead init`` and ``keystead serve`` (defaults, a
temporary SQLite store) on a free loopback port; ``seed()`` fills it through the HTTP
API the way a customer's backend would: two APIs, two plans, owners, keys, a few hundred
verifications, plus requests reported through ``POST /v1/usage/records`` over the past
day (status, response time, user agent, path) so the charts have a shape, and one
revoked key. ``signed_in_cookie()`` signs in with Chromium and returns the session cookie.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

CHROMIUM = os.environ.get("KEYSTEAD_TEST_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Demo:
    url: str
    root_key: str
    api_ids: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)
    plan_ids: dict[str, str] = field(default_factory=dict)
    owners: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def demo_server() -> Iterator[Demo]:
    """``keystead init`` + ``keystead serve`` in a temporary directory, stopped after."""
    with tempfile.TemporaryDirectory(prefix="keystead-demo-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
        env["KEYSTEAD_DATABASE_URL"] = f"sqlite:///{home / 'demo.db'}"
        env["KEYSTEAD_SECRET_FILE"] = str(home / "demo.secret")
        cli = [sys.executable, "-m", "keystead.cli"]
        init = subprocess.run(
            [*cli, "init", "--json"], env=env, cwd=home, capture_output=True, text=True, check=True
        )
        root_key = json.loads(init.stdout)["root_key"]
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env["KEYSTEAD_PUBLIC_URL"] = url  # portal links point here
        log = (home / "serve.log").open("wb")
        process = subprocess.Popen(
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(url, process)
            yield Demo(url=url, root_key=root_key)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"keystead serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("keystead serve did not become healthy in 60 s")


def _created(answer: httpx.Response) -> dict[str, object]:
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"{answer.request.method} {answer.request.url}: {answer.text}")
    body: dict[str, object] = answer.json()
    return body


def seed(demo: Demo, *, verifications: int = 400, reports: int = 3000) -> Demo:
    """Demo data through the HTTP API (see the module docstring)."""
    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {demo.root_key}"}
    with httpx.Client(base_url=demo.url, headers=headers, timeout=30) as client:
        plans: dict[str, dict[str, object]] = {
            "free": {
                "name": "free",
                "ratelimits": [{"name": "min", "limit": 20, "duration_s": 60}],
            },
            "pro": {"name": "pro", "priority": 50, "quota": {"limit": 10**6, "period": "month"}},
        }
        for name, body in plans.items():
            demo.plan_ids[name] = str(_created(client.post("/v1/plans", json=body))["id"])
        for name, prefix in (("payments", "pay"), ("documents", "doc")):
            api = _created(client.post("/v1/apis", json={"name": name, "prefix": prefix}))
            demo.api_ids[name] = str(api["id"])
        plaintexts: dict[str, str] = {}
        for index, (owner, plan) in enumerate(
            [("acme-corp", "pro"), ("globex", "pro"), ("initech", "free"), ("umbrella", "free")]
        ):
            client.put(f"/v1/owners/{owner}", json={}).raise_for_status()
            demo.owners.append(owner)
            for api_name in demo.api_ids:
                name = f"{owner} {api_name} {'production' if index % 2 == 0 else 'staging'}"
                created = _created(
                    client.post(
                        "/v1/keys",
                        json={
                            "api_id": demo.api_ids[api_name],
                            "name": name,
                            "owner_id": owner,
                            "plan_id": demo.plan_ids[plan],
                            "permissions": [f"{api_name}.read", f"{api_name}.write"],
                            "meta": {"team": owner.split("-")[0]},
                        },
                    )
                )
                demo.key_ids[name] = str(created["id"])
                plaintexts[name] = str(created["key"])
        names = sorted(plaintexts)
        weights = [len(names) - i for i in range(len(names))]
        for _ in range(verifications):
            name = rng.choices(names, weights)[0]
            key = plaintexts[name] if rng.random() > 0.05 else "pay_not-a-real-key"
            client.post(
                "/v1/keys/verify",
                json={"key": key, "ip": f"203.0.113.{rng.randint(1, 40)}", "path": "/v1/charges"},
            ).raise_for_status()
        _backfill(client, demo, rng, reports)
        revoked = names[-1]
        client.post(f"/v1/keys/{demo.key_ids[revoked]}/revoke").raise_for_status()
    time.sleep(2)  # usage records are written within about a second
    return demo


USER_AGENTS = ("acme-billing/2.1", "python-httpx/0.27", "Go-http-client/1.1", "curl/7.88.1")
PATHS = ("/v1/charges", "/v1/documents", "/v1/refunds", "/v1/customers")


def _backfill(client: httpx.Client, demo: Demo, rng: random.Random, count: int) -> None:
    """``count`` requests reported over the past day: busier in the day than at night,
    a few refusals and server errors, response times around 40 ms."""
    now = time.time()
    ids = list(demo.key_ids.values())
    records = []
    for _ in range(count):
        at = now - 86_400 * rng.betavariate(2, 1.2)
        roll = rng.random()
        code, status = ("VALID", 200) if roll > 0.08 else ("RATE_LIMITED", 429)
        if code == "VALID" and rng.random() < 0.02:
            status = 500
        records.append(
            {
                "key_id": ids[min(int(rng.expovariate(0.4)), len(ids) - 1)],
                "code": code,
                "at": at,
                "ip": f"198.51.100.{rng.randint(1, 60)}",
                "user_agent": rng.choice(USER_AGENTS),
                "method": "POST" if rng.random() < 0.3 else "GET",
                "path": rng.choice(PATHS),
                "status": status,
                "response_ms": round(rng.lognormvariate(3.6, 0.5), 1),
            }
        )
    for start in range(0, len(records), 1000):
        batch = {"records": records[start : start + 1000]}
        client.post("/v1/usage/records", json=batch).raise_for_status()


def signed_in_cookie(demo: Demo) -> tuple[str, str]:
    """(name, value) of the dashboard session cookie, signed in through the real form."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(base_url=demo.url)
            sign_in(page, demo.root_key)
            for cookie in page.context.cookies():
                if cookie.get("name") == "ks_session":
                    return "ks_session", str(cookie.get("value"))
        finally:
            browser.close()
    raise RuntimeError("signing in set no ks_session cookie")


def sign_in(page: Page, root_key: str) -> None:
    """Fill and send the sign-in form; wait for the overview."""
    page.goto("/ui/sign-in")
    page.get_by_label(re.compile("root key", re.I)).fill(root_key)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(re.compile(r"/ui/(\?.*)?$"))
