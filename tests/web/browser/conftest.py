"""Fixtures of the browser tests: a real ``keystead serve`` (``keystead init`` on a
temporary SQLite store; its root key signs in), Debian's Chromium driven by Playwright
(``executable_path``: no browser download), and a fresh context per test with the
clipboard granted. Every test here skips, with the reason, only where no Chromium
binary exists; ``make system-deps`` installs it (CI runs them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from serving import Server, serving

from .kit import Watch, chromium_path

HERE = Path(__file__).parent
ServerFactory = Callable[[Mapping[str, str]], AbstractContextManager[Server]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium binary: run `make system-deps` (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module (tests name what they create uniquely)."""
    with serving(tmp_path_factory.mktemp("browser-server")) as started:
        yield started


@pytest.fixture
def start_server(tmp_path: Path) -> ServerFactory:
    """Another server with extra ``KEYSTEAD_*`` settings, for one test."""

    def start(settings: Mapping[str, str]) -> AbstractContextManager[Server]:
        home = tmp_path / f"server-{len(list(tmp_path.iterdir()))}"
        home.mkdir()
        return serving(home, settings)

    return start


def new_context(browser: Browser, server: Server) -> BrowserContext:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, server: Server, watch: Watch) -> Iterator[Page]:
    """A page in a fresh context (no cookies) on ``server``, watched for script errors,
    CSP refusals and dialogs."""
    context = new_context(browser, server)
    try:
        opened = context.new_page()
        watch.attach(opened)
        yield opened
    finally:
        context.close()
