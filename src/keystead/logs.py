"""Structured JSON logs, one object per line, with key material redacted by
construction: every string (message, exception, extra fields) passes through
:func:`keystead.core.keyformat.redact_keys` before it is written.

``configure_logging("info", json=True)`` for programs of our own;
``keystead serve`` plugs :class:`JsonFormatter` into uvicorn's log config
when ``KEYSTEAD_LOG_FORMAT=json``.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from keystead.core.keyformat import redact_keys
from keystead.events.exporters.base import scrub

# attributes every LogRecord has; anything else came in through ``extra=``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
_ACCESS_LOGGERS = frozenset({"uvicorn.access", "keystead.access"})
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ["exception"], extra...}`` per
    line. Access records (``keystead.access``, and uvicorn's ``uvicorn.access``) also
    get ``client``, ``method``, ``path``, ``http_version`` and ``status`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_keys(record.getMessage()),
        }
        if record.exc_info:
            line["exception"] = redact_keys(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = redact_keys(record.exc_text)
        if record.stack_info:
            line["stack"] = redact_keys(self.formatStack(record.stack_info))
        if record.name in _ACCESS_LOGGERS and isinstance(record.args, tuple):
            if len(record.args) == len(_ACCESS_FIELDS):
                line.update(zip(_ACCESS_FIELDS, scrub(list(record.args)), strict=True))
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in line:
                line[redact_keys(name)] = scrub(value)
        return orjson.dumps(line, default=lambda value: redact_keys(str(value))).decode()


class RedactingFormatter(logging.Formatter):
    """The plain text format, with key-shaped text redacted as well."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_keys(super().format(record))


def configure_logging(level: str | int = "info", *, json: bool = False) -> logging.Handler:
    """Send the root logger to stderr, as JSON lines or redacted text; the
    previous handler installed by this function is replaced."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json else RedactingFormatter(TEXT_FORMAT))
    handler.set_name("keystead")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "keystead"]:
        root.removeHandler(old)
    root.addHandler(handler)
    if isinstance(level, str):
        level = "DEBUG" if level.lower() == "trace" else level.upper()
    root.setLevel(level)
    return handler


__all__ = ["JsonFormatter", "RedactingFormatter", "configure_logging"]
