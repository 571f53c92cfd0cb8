"""The browser face's frame: dispatch, security headers, static files."""

from __future__ import annotations

import hashlib
import json

import pytest

from keystead.service import Keystead
from keystead.web.security import CSP
from keystead.web.templating import STATIC

from .webkit import open_browser

SECURITY = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def assert_secure(headers: object) -> None:
    for name, value in SECURITY.items():
        assert headers[name] == value, name  # type: ignore[index]


async def test_root_redirects_to_the_dashboard(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        for path in ("/", "/ui"):
            answer = await b.client.get(path)
            assert answer.status_code == 307
            assert answer.headers["location"] == "/ui/"
            assert_secure(answer.headers)


async def test_pages_need_a_session_and_carry_the_security_headers(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        answer = await b.client.get("/ui/?x=1")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/sign-in?next=%2Fui%2F%3Fx%3D1"
        sign_in = await b.client.get("/ui/sign-in")
        assert sign_in.status_code == 200
        assert_secure(sign_in.headers)
        assert sign_in.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in sign_in.headers["content-security-policy"]
        assert '<label for="root_key">' in sign_in.text
        assert "<script>" not in sign_in.text  # no inline script: CSP script-src 'self'
        assert " style=" not in sign_in.text
        signed = await b.sign_in()
        assert signed.status_code == 303
        overview = await b.client.get("/ui/")
        assert overview.status_code == 200
        assert_secure(overview.headers)
        assert overview.headers["cache-control"] == "no-store"
        assert 'id="flash"' in overview.text and 'aria-live="polite"' in overview.text
        assert '<main id="main"' in overview.text


async def test_unknown_page_is_a_404_page(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        await b.sign_in()
        answer = await b.client.get("/ui/no-such-area")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert_secure(answer.headers)
        wrong = await b.client.post("/ui/")
        assert wrong.status_code == 405


def _digest(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


async def test_static_files_are_cached_by_version(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        vendor = await b.client.get("/ui/static/vendor/htmx.min.js")
        assert vendor.status_code == 200
        assert vendor.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert vendor.headers["content-type"].startswith("text/javascript")
        assert vendor.headers["x-content-type-options"] == "nosniff"
        css = await b.client.get(f"/ui/static/ui.css?v={_digest('ui.css')}")
        assert css.status_code == 200
        assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
        unversioned = await b.client.get("/ui/static/ui.js")
        assert unversioned.headers["cache-control"] == "public, max-age=300"
        again = await b.client.get(
            "/ui/static/ui.js", headers={"if-none-match": unversioned.headers["etag"]}
        )
        assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/ui/static/../app.py",
        "/ui/static/%2e%2e/app.py",
        "/ui/static/vendor/VENDOR.md",
        "/ui/static/nothing.js",
        "/ui/static/",
    ],
)
async def test_static_serves_only_its_own_asset_files(keystead: Keystead, path: str) -> None:
    async with open_browser(keystead) as b:
        answer = await b.client.get(path)
        assert answer.status_code == 404
        assert b"import" not in answer.content


async def test_pages_link_versioned_assets(keystead: Keystead) -> None:
    async with open_browser(keystead) as b:
        page = await b.client.get("/ui/sign-in")
        assert f"/ui/static/ui.css?v={_digest('ui.css')}" in page.text
        assert f"/ui/static/vendor/htmx.min.js?v={_digest('vendor/htmx.min.js')}" in page.text


def test_serve_names_the_dashboard_url() -> None:
    from keystead.cli.serve import banner, dashboard_url
    from keystead.config import Settings

    local = Settings(_env_file=None)
    assert dashboard_url(local, "127.0.0.1", 8400) == "http://127.0.0.1:8400/ui/"
    assert dashboard_url(local, "0.0.0.0", 9000) == "http://127.0.0.1:9000/ui/"  # noqa: S104
    assert dashboard_url(local, "::1", 8400) == "http://[::1]:8400/ui/"
    public = Settings(_env_file=None, public_url="https://keys.example.com/")
    assert dashboard_url(public, "0.0.0.0", 8400) == "https://keys.example.com/ui/"  # noqa: S104
    assert banner(local, "127.0.0.1", 8400) == "Dashboard: http://127.0.0.1:8400/ui/"
    line = json.loads(banner(Settings(_env_file=None, log_format="json"), "127.0.0.1", 8400))
    assert line["message"] == "Dashboard: http://127.0.0.1:8400/ui/"
    assert line["logger"] == "keystead"


@pytest.mark.parametrize(
    ("accent", "colour", "text"),
    [
        ("#ffcc00", "#ffcc00", "#111111"),
        ("#123", "#123", "#ffffff"),
        ("red;}body{display:none", "#2457c5", "#ffffff"),
        ("#12345678", "#2457c5", "#ffffff"),
        (None, "#2457c5", "#ffffff"),
    ],
)
def test_the_portal_accent_reaches_css_only_as_a_colour(
    accent: str | None, colour: str, text: str
) -> None:
    from keystead.web.brand import stylesheet

    assert stylesheet(accent) == f":root {{\n  --accent: {colour};\n  --on-accent: {text};\n}}\n"


def test_templates_hold_no_inline_script_style_or_unescaped_output() -> None:
    """The CSP forbids inline script and style; autoescape must never be bypassed."""
    import re

    from keystead.web.templating import TEMPLATES

    forbidden = re.compile(r"<script>|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=|\|\s*safe\b")
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert templates
    for path in templates:
        found = forbidden.search(path.read_text())
        assert found is None, f"{path.relative_to(TEMPLATES)}: {found.group(0)}"
