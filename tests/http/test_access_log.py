"""The HTTP API's access log (``KEYSTEAD_ACCESS_LOG``, ``keystead.http.access_log``):
what each mode logs, and that no line carries a key or a query value."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from httpkit import World, open_world

from keystead.config import Settings
from keystead.core import keyformat
from keystead.core.clock import ManualClock
from keystead.http.access_log import LOGGER, AccessLog
from keystead.logs import JsonFormatter
from keystead.service import Keystead

Line = tuple[str, str, int]
"""(method, path as logged, status)"""


def access_lines(caplog: pytest.LogCaptureFixture) -> list[Line]:
    lines = []
    for record in caplog.records:
        if record.name == LOGGER:
            assert isinstance(record.args, tuple)
            client, method, path, version, status = record.args
            assert (client, version) == ("127.0.0.1:123", "1.1")
            lines.append((str(method), str(path), int(str(status))))
    return lines


@asynccontextmanager
async def tuned_world(
    settings: Settings, clock: ManualClock, **update: Any
) -> AsyncIterator[World]:
    """A world on a service of its own with a master key (tokens need one)."""
    tuned = settings.model_copy(update=update)
    ks = await Keystead.open(settings=tuned, clock=clock, create_master_key=True)
    try:
        async with open_world(ks) as world:
            yield world
    finally:
        await ks.close()


async def hot_and_probe_calls(w: World) -> tuple[str, str]:
    """Successful answers of the hot routes and the probes; the key and its id."""
    api = await w.api("logged")
    created = await w.key(api["id"])
    key = created["key"]
    verified = await w.client.post("/v1/keys/verify", json={"key": key}, headers=w.auth())
    assert verified.json()["valid"] is True
    refused = await w.client.post("/v1/keys/verify", json={"key": key + "x"}, headers=w.auth())
    assert (refused.status_code, refused.json()["valid"]) == (200, False)
    exchanged = await w.client.post("/v1/tokens", json={}, headers=w.auth(key))
    assert exchanged.status_code == 201, exchanged.text
    for probe in ("/healthz", "/metrics"):
        assert (await w.client.get(probe)).status_code == 200
    return key, created["id"]


async def test_default_logs_management_calls_and_errors_not_hot_successes(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with tuned_world(settings, clock) as w:
        assert settings.access_log == "default"
        caplog.clear()
        key, key_id = await hot_and_probe_calls(w)
        assert access_lines(caplog) == [("POST", "/v1/apis", 201), ("POST", "/v1/keys", 201)]
        caplog.clear()
        no_root_key = await w.client.post("/v1/keys/verify", json={"key": key})
        assert no_root_key.status_code == 401
        listed = await w.client.get("/v1/keys", params={"limit": 2}, headers=w.auth())
        assert listed.status_code == 200
        await w.client.get(f"/v1/keys/{key_id}", headers=w.auth())
        assert (await w.client.get("/healthz", params={"x": 1})).status_code == 200
        assert (await w.client.post("/metrics")).status_code == 405
    assert access_lines(caplog) == [
        ("POST", "/v1/keys/verify", 401),
        ("GET", "/v1/keys?limit=...", 200),
        ("GET", f"/v1/keys/{key_id}", 200),
        ("POST", "/metrics", 405),
    ]


async def test_all_logs_every_request(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with tuned_world(settings, clock, access_log="all") as w:
        caplog.clear()
        await hot_and_probe_calls(w)
    assert access_lines(caplog) == [
        ("POST", "/v1/apis", 201),
        ("POST", "/v1/keys", 201),
        ("POST", "/v1/keys/verify", 200),
        ("POST", "/v1/keys/verify", 200),
        ("POST", "/v1/tokens", 201),
        ("GET", "/healthz", 200),
        ("GET", "/metrics", 200),
    ]


async def test_off_logs_nothing(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with tuned_world(settings, clock, access_log="off") as w:
        assert getattr(w.app, "access_log", "missing") is None
        await hot_and_probe_calls(w)
        assert (await w.client.get("/v1/nowhere", headers=w.auth())).status_code == 404
    assert access_lines(caplog) == []


async def test_no_line_holds_a_key_a_query_value_or_a_control_character(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    key = keyformat.generate("ks")
    async with tuned_world(settings, clock, access_log="all") as w:
        c = w.client
        await c.get(f"/v1/keys/{key}", params={"owner_id": "org_7", key: "1"}, headers=w.auth())
        await c.get(f"/v1/keys/{key[:3]}%{ord(key[3]):02X}{key[4:]}", headers=w.auth())
        await c.get("/v1/keys/a%0D%0Afake%20line", headers=w.auth())
        await c.post("/v1/keys/verify", params={"key": key}, json={"key": key})
    lines = access_lines(caplog)
    assert [status for _, _, status in lines] == [422, 422, 422, 401], lines
    redacted = f"/v1/keys/{keyformat.REDACTED}"
    assert lines[0][1] == f"{redacted}?owner_id=...&{keyformat.REDACTED}=..."
    assert lines[1][1] == redacted  # a key percent-encoded in part is found decoded
    assert lines[2][1] == "/v1/keys/a%0D%0Afake%20line"
    assert lines[3][1] == "/v1/keys/verify?key=..."
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert key not in text and "org_7" not in text and "\r" not in text


def access_record(path: str, status: int = 404) -> logging.LogRecord:
    record = logging.LogRecord(
        LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.1:5000", "GET", path, "1.1", status),
        None,
    )
    return record


def test_json_lines_carry_the_access_fields() -> None:
    line: dict[str, Any] = json.loads(JsonFormatter().format(access_record("/v1/apis?x=...")))
    assert line["logger"] == LOGGER
    assert (line["client"], line["method"], line["path"]) == (
        "10.0.0.1:5000",
        "GET",
        "/v1/apis?x=...",
    )
    assert (line["http_version"], line["status"]) == ("1.1", 404)
    assert line["message"] == '10.0.0.1:5000 - "GET /v1/apis?x=... HTTP/1.1" 404'


async def test_nothing_is_wrapped_when_the_logger_drops_info() -> None:
    logger = logging.getLogger(f"{LOGGER}.quiet-test")
    logger.setLevel(logging.WARNING)

    async def send(message: Any) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": "/v1/apis", "query_string": b""}
    assert AccessLog("all", logger).watch(scope, send, routine=False) is send
    logger.setLevel(logging.INFO)
    assert AccessLog("all", logger).watch(scope, send, routine=False) is not send


def test_off_is_no_access_log() -> None:
    assert AccessLog.for_mode("off") is None
    with pytest.raises(ValueError, match="not 'off'"):
        AccessLog("off")
