import logging
import os
import subprocess
import sys

from keystead.cli.serve import RedactQuery, log_config
from keystead.core import keyformat
from keystead.http.access_log import FORMAT, LOGGER
from keystead.logs import AccessFormatter


def test_access_log_hides_query_values_and_keys_in_paths() -> None:
    key = keyformat.generate("ks")
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/v1/keys/{key}?api_id=secretish&limit=5", "1.1", 422),
        None,
    )
    assert RedactQuery().filter(record)
    line = record.getMessage()
    assert key not in line and "secretish" not in line
    assert f"/v1/keys/{keyformat.REDACTED}?api_id=...&limit=..." in line


def test_serve_sends_the_app_access_log_to_stdout_redacted_once() -> None:
    config = log_config("warning")
    assert config["loggers"][LOGGER] == {
        "handlers": ["keystead_access"],
        "level": "WARNING",  # KEYSTEAD_LOG_LEVEL=warning silences it, as it did uvicorn's
        "propagate": False,
    }
    handler = config["handlers"]["keystead_access"]
    assert handler["stream"] == "ext://sys.stdout"
    assert config["formatters"][handler["formatter"]] == {"()": "keystead.logs.AccessFormatter"}
    assert handler["filters"] == []  # its lines are redacted when made
    assert config["handlers"]["access"]["filters"] == ["redact_query"]  # uvicorn's (gateway)
    json_config = log_config("info", json=True)
    for formatter in ("access", "keystead_access"):
        assert json_config["formatters"][formatter] == {"()": "keystead.logs.JsonFormatter"}


def test_a_bad_access_log_setting_is_a_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keystead.cli", "serve"],
        env={**os.environ, "KEYSTEAD_ACCESS_LOG": "verbose"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "KEYSTEAD_ACCESS_LOG" in done.stderr and "'default', 'all' or 'off'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_text_line_is_uvicorns() -> None:
    record = logging.LogRecord(
        LOGGER,
        logging.INFO,
        __file__,
        1,
        FORMAT,
        ("10.0.0.1:5000", "GET", "/v1/apis", "1.1", 404),
        None,
    )
    assert AccessFormatter().format(record) == (
        'INFO:     10.0.0.1:5000 - "GET /v1/apis HTTP/1.1" 404 Not Found'
    )
