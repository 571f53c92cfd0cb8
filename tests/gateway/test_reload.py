"""Hot reload of the configuration file: new routes apply, a broken file keeps the
running configuration, requests under way finish on the one they started with."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from keystead.gateway import load_config
from keystead.service import Keystead

from .gatewaykit import Site, route, site
from .upstreams import Stream, Upstream, echo, serving


def _write(path: Path, *routes: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump({"routes": list(routes)}))


async def _until_served_by(s: Site, upstream: Upstream, path: str = "/") -> None:
    """Wait (at most 5 s) until a request reaches ``upstream``."""
    for _ in range(100):
        before = len(upstream.seen)
        await s.client.get(path)
        if len(upstream.seen) > before:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the new configuration was not applied")


async def test_a_changed_file_applies_and_a_broken_one_is_ignored(
    keystead: Keystead, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gateway.yaml"
    async with serving(echo) as first, serving(echo) as second:
        _write(path, route(first.url, auth="none"))
        options = {"config_path": path, "reload_interval_s": 0.05}
        async with site(keystead, load_config(path), **options) as s:
            assert (await s.client.get("/")).status_code == 200
            _write(path, route(second.url, auth="none"))
            await _until_served_by(s, second)
            counts = (len(first.seen), len(second.seen))

            with caplog.at_level(logging.ERROR, logger="keystead.gateway"):
                path.write_text("routes: [unclosed\n")
                await _wait_for_log(caplog, "not valid YAML")
                _write(path, {**route(first.url), "auth": "sometimes"})
                await _wait_for_log(caplog, "routes[0].auth: must be one of")
            still = await s.client.get("/")

    assert still.status_code == 200
    assert (len(first.seen), len(second.seen)) == (counts[0], counts[1] + 1)
    assert all("running one stays" in r.getMessage() for r in caplog.records)


async def _wait_for_log(caplog: pytest.LogCaptureFixture, text: str) -> None:
    for _ in range(100):
        if any(text in record.getMessage() for record in caplog.records):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing logged with {text!r}")


async def test_requests_under_way_finish_on_the_configuration_they_started_with(
    keystead: Keystead, tmp_path: Path
) -> None:
    path = tmp_path / "gateway.yaml"
    stream = Stream(first=b"old ", rest=[b"upstream"])
    async with serving(stream) as old, serving(echo) as new:
        _write(path, route(old.url, auth="none", match={"path_prefix": "/stream/"}))
        options = {"config_path": path, "reload_interval_s": 0.05}
        async with site(keystead, load_config(path), **options) as s:
            old_pool = s.gateway.proxy.router.routes[0].pool if s.gateway.proxy else None
            async with s.client.stream("GET", "/stream/1") as under_way:
                parts = under_way.aiter_raw()
                first = await anext(parts)
                _write(path, route(new.url, auth="none"))
                await _until_served_by(s, new, "/probe")
                stream.go.set()
                rest = b"".join([part async for part in parts])
            await asyncio.wait_for(old.closed_by_peer.wait(), 5)

    assert first + rest == b"old upstream"
    assert old_pool is not None and old_pool.closed and old_pool.idle_count == 0


async def test_sighup_reloads_at_once(keystead: Keystead, tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    async with serving(echo) as first, serving(echo) as second:
        _write(path, route(first.url, auth="none"))
        options = {"config_path": path, "reload_interval_s": 3600}
        async with site(keystead, load_config(path), **options) as s:
            watcher = s.gateway.watcher
            assert watcher is not None and watcher.listens_for_sighup
            _write(path, route(second.url, auth="none"))
            os.kill(os.getpid(), signal.SIGHUP)
            await _until_served_by(s, second)

    assert first.seen == []
