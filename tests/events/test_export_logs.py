"""Structured JSON logs (``keystead.logs``): one JSON object per line, every
string redacted; and ``keystead serve`` writing them with KEYSTEAD_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keystead.cli.serve import RedactQuery, log_config
from keystead.core import keyformat
from keystead.logs import JsonFormatter, RedactingFormatter, configure_logging


def make_record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("keystead.test", logging.WARNING, __file__, 7, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_has_the_standard_fields_and_extras() -> None:
    line = json.loads(JsonFormatter().format(make_record("hello %s", "there", key_id="key_1")))
    assert line.pop("time").endswith("+00:00")
    assert line == {
        "level": "warning",
        "logger": "keystead.test",
        "message": "hello there",
        "key_id": "key_1",
    }


def test_key_material_is_redacted_everywhere_in_a_json_line() -> None:
    key = keyformat.generate("ks")
    try:
        raise RuntimeError(f"bad key {key}")
    except RuntimeError:
        record = make_record("verify %s", key, header=f"Bearer {key}", nested={"k": [key]})
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert key not in text
    line = json.loads(text)
    assert line["message"] == f"verify {keyformat.REDACTED}"
    assert line["header"] == f"Bearer {keyformat.REDACTED}"
    assert line["nested"] == {"k": [keyformat.REDACTED]}
    assert "RuntimeError: bad key <redacted>" in line["exception"]


def test_text_logs_are_redacted_too() -> None:
    key = keyformat.generate("ks")
    text = RedactingFormatter("%(message)s").format(make_record("got %s", key))
    assert text == f"got {keyformat.REDACTED}"


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_configure_logging_writes_json_to_stderr(
    root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    key = keyformat.generate("ks")
    configure_logging("debug", json=True)
    configure_logging("debug", json=True)  # replaces its own handler, no duplicates
    logging.getLogger("keystead.demo").debug("seen %s", key, extra={"n": 3})
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["message"] == f"seen {keyformat.REDACTED}" and line["n"] == 3
    assert root_logger.level == logging.DEBUG


def access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 401),
        None,
    )


def test_serve_log_config_uses_the_json_formatter_and_keeps_the_redaction() -> None:
    config = log_config("info", json=True)
    assert config["formatters"]["default"] == {"()": "keystead.logs.JsonFormatter"}
    assert config["formatters"]["access"] == {"()": "keystead.logs.JsonFormatter"}
    assert config["handlers"]["access"]["filters"] == ["redact_query"]
    assert config["loggers"]["keystead"]["handlers"] == ["default"]
    assert log_config("info")["formatters"]["access"]["()"] == "uvicorn.logging.AccessFormatter"

    configurator = logging.config.DictConfigurator(config)
    formatter = configurator.configure_formatter(config["formatters"]["access"])
    key = keyformat.generate("ks")
    record = access_record(f"/v1/keys/{key}?owner_id=org_7")
    assert RedactQuery().filter(record)
    line: dict[str, Any] = json.loads(formatter.format(record))
    assert line["path"] == f"/v1/keys/{keyformat.REDACTED}?owner_id=..."
    assert (line["method"], line["status"], line["client"]) == ("GET", 401, "127.0.0.1:5000")
    assert key not in json.dumps(line) and "org_7" not in json.dumps(line)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _serve_and_call(tmp_path: Path, settings: dict[str, str], key: str) -> str:
    """``keystead init`` and ``keystead serve`` with ``settings``; a successful verify,
    a management call with ``key`` in its path and a query value, then the log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {
        "KEYSTEAD_DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "KEYSTEAD_SECRET_FILE": str(tmp_path / "server.secret"),
        **settings,
    }
    cli = [sys.executable, "-m", "keystead.cli"]
    init = subprocess.run(
        [*cli, "init", "--json"], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert init.returncode == 0, init.stderr
    admin = {"Authorization": f"Bearer {json.loads(init.stdout)['root_key']}"}
    port, log = _free_port(), tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        api = httpx.post(f"{url}/v1/apis", json={"name": "logs"}, headers=admin, timeout=5)
        made = httpx.post(
            f"{url}/v1/keys", json={"api_id": api.json()["id"]}, headers=admin, timeout=5
        )
        verified = httpx.post(
            f"{url}/v1/keys/verify", json={"key": made.json()["key"]}, headers=admin, timeout=5
        )
        assert verified.json()["valid"] is True
        httpx.get(f"{url}/v1/keys/{key}?owner_id=org_7", timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=20)
    text = log.read_text()
    assert key not in text and "org_7" not in text
    assert made.json()["key"] not in text
    return text


@pytest.mark.slow
def test_keystead_serve_writes_json_logs(tmp_path: Path) -> None:
    key = keyformat.generate("ks")
    text = _serve_and_call(tmp_path, {"KEYSTEAD_LOG_FORMAT": "json"}, key)
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(line["logger"] == "uvicorn.error" for line in lines)
    assert not any(line["logger"] == "uvicorn.access" for line in lines)  # the app logs
    access = [line for line in lines if line["logger"] == "keystead.access"]
    assert [(line["method"], line["path"], line["status"]) for line in access] == [
        ("POST", "/v1/apis", 201),
        ("POST", "/v1/keys", 201),
        # no successful verify: a usage record already (KEYSTEAD_ACCESS_LOG=default)
        ("GET", f"/v1/keys/{keyformat.REDACTED}?owner_id=...", 401),
    ]


@pytest.mark.slow
def test_keystead_serve_logs_every_request_when_told(tmp_path: Path) -> None:
    key = keyformat.generate("ks")
    text = _serve_and_call(tmp_path, {"KEYSTEAD_ACCESS_LOG": "all"}, key)
    assert '"POST /v1/keys/verify HTTP/1.1" 200' in text
    assert '"GET /healthz HTTP/1.1" 200' in text
    assert f'"GET /v1/keys/{keyformat.REDACTED}?owner_id=... HTTP/1.1" 401' in text
