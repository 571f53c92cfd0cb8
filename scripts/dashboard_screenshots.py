"""Screenshots of the dashboard and the portal for docs/dashboard.md.

    .venv/bin/python scripts/dashboard_screenshots.py [--out docs/img/dashboard]

Starts ``keystead serve`` on a temporary SQLite store, seeds demo data through the HTTP
API (bench/_dashboard_demo.py), signs in with Debian's Chromium (Playwright,
``executable_path``) and saves one PNG per page. A page the server does not have yet
(an error status) is reported and left out; the run fails if none could be taken.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx
from playwright.sync_api import Browser, FloatRect, Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _dashboard_demo import CHROMIUM, Demo, demo_server, seed, sign_in  # noqa: E402

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
MAX_HEIGHT = 1600  # long pages are cut here: the PNGs stay small


def capture(page: Page, target: Path, max_height: int = MAX_HEIGHT) -> None:
    height = min(int(page.evaluate("() => document.documentElement.scrollHeight")), max_height)
    clip: FloatRect = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
    page.screenshot(path=str(target), full_page=True, clip=clip)


def dashboard_pages(demo: Demo) -> list[tuple[str, str]]:
    key_id = next(iter(demo.key_ids.values()))
    return [
        ("overview", "/ui/"),
        ("apis", "/ui/apis"),
        ("keys", "/ui/keys"),
        ("key", f"/ui/keys/{key_id}"),
        ("key-new", "/ui/keys/new"),
        ("plans", "/ui/plans"),
        ("owners", "/ui/owners"),
        ("root-keys", "/ui/root-keys"),
        ("secrets", "/ui/secrets"),
        ("webhooks", "/ui/webhooks"),
        ("alerts", "/ui/alerts"),
        ("audit", "/ui/audit"),
    ]


def seed_extras(demo: Demo) -> None:
    """A secret and a webhook, so those pages show a row (a refusal is reported)."""
    headers = {"Authorization": f"Bearer {demo.root_key}"}
    calls = [
        ("POST", "/v1/secret-mounts", {"name": "apps"}),
        ("PUT", "/v1/secrets/apps/data/billing/stripe", {"data": {"api_key": "sk_demo"}}),
        ("PUT", "/v1/secrets/apps/data/billing/postgres", {"data": {"password": "demo"}}),
        (
            "POST",
            "/v1/webhooks",
            {
                "url": "https://hooks.example.com/keystead",
                "events": ["key.revoked", "key.rotated"],
                "description": "billing service",
            },
        ),
    ]
    with httpx.Client(base_url=demo.url, headers=headers, timeout=10) as client:
        for method, path, body in calls:
            answer = client.request(method, path, json=body)
            if answer.status_code >= 400:
                print(f"  seed {method} {path}: {answer.status_code}, skipped")


def what_if(page: Page, target: Path) -> bool:
    """The what-if page after a replay of the free plan against a tighter rate limit."""
    if not shoot(page, "/ui/what-if", target):
        return False
    page.get_by_label("Plan or API").select_option(label="free")
    page.get_by_label("Rate limit 1 name").fill("min")
    page.get_by_label("Rate limit 1 requests").fill("2")
    page.get_by_label("Rate limit 1 seconds").fill("60")
    page.get_by_label("Days to replay (1 to", exact=False).fill("1")
    page.get_by_role("button", name="Run replay").click()
    page.wait_for_load_state("networkidle")
    page.locator("figure[data-chart-inline] canvas").first.wait_for(timeout=5_000)
    capture(page, target, max_height=2 * MAX_HEIGHT)  # down to the owners refused
    return True


def shoot(page: Page, path: str, target: Path) -> bool:
    response = page.goto(path)
    status = response.status if response is not None else 0
    if status >= 400:
        print(f"  {path}: {status}, skipped")
        return False
    page.wait_for_load_state("networkidle")
    charts = page.locator("[data-chart] canvas")
    if page.locator("[data-chart]").count():
        charts.first.wait_for(timeout=5_000)
    capture(page, target)
    print(f"  {path} -> {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return True


def portal_link(demo: Demo, owner: str) -> str | None:
    answer = httpx.post(
        f"{demo.url}/v1/portal/sessions",
        json={"owner_id": owner},
        headers={"Authorization": f"Bearer {demo.root_key}"},
        timeout=10,
    )
    if answer.status_code != 201:
        print(f"  portal link: {answer.status_code}, skipped")
        return None
    url: str = answer.json()["url"]
    return url


def take(browser: Browser, demo: Demo, out: Path) -> int:
    taken = 0
    with browser.new_context(base_url=demo.url, viewport=VIEWPORT) as context:
        page = context.new_page()
        taken += shoot(page, "/ui/sign-in", out / "sign-in.png")
        sign_in(page, demo.root_key)
        for name, path in dashboard_pages(demo):
            taken += shoot(page, path, out / f"{name}.png")
        taken += what_if(page, out / "what-if.png")
    link = portal_link(demo, demo.owners[0])
    if link is not None:
        with browser.new_context(viewport=VIEWPORT) as context:
            page = context.new_page()
            page.goto(link)
            page.wait_for_url(lambda url: "/portal/enter" not in url)
            taken += shoot(page, page.url, out / "portal.png")
            key_link = page.locator("table a[href^='/portal/keys/']").first
            if key_link.count():
                href = f"{demo.url}{key_link.get_attribute('href')}"
                taken += shoot(page, href, out / "portal-key.png")
    return taken


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "dashboard")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with demo_server() as demo:
        seed(demo)
        seed_extras(demo)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                taken = take(browser, demo, args.out)
            finally:
                browser.close()
    if not taken:
        sys.exit("no page could be captured")
    print(f"{taken} screenshots in {args.out}")


if __name__ == "__main__":
    main()
