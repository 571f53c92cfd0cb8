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
from http import HTTPStatus
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
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ["exception"], extra...}`` per
    line. Access records (``keystead.access``, and uvicorn's ``uvicorn.access``) get
    ``client``, ``method``, ``path``, ``http_version`` and ``status`` fields instead
    of extras."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if (
            record.name in _ACCESS_LOGGERS
            and isinstance(args, tuple)
            and len(args) == len(_ACCESS_FIELDS)
            and not record.exc_info
        ):
            return self._access_line(record, args)
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
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in line:
                line[redact_keys(name)] = scrub(value)
        return orjson.dumps(line, default=lambda value: redact_keys(str(value))).decode()

    def _access_line(self, record: logging.LogRecord, args: tuple[object, ...]) -> str:
        """An access record's line: its fields, each redacted, and no others."""
        client, method, path, version, status = (
            redact_keys(value) if isinstance(value, str) else value for value in args
        )
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": f'{client} - "{method} {path} HTTP/{version}" {status}',
            "client": client,
            "method": method,
            "path": path,
            "http_version": version,
            "status": status,
        }
        return orjson.dumps(line, default=lambda value: redact_keys(str(value))).decode()


class AccessFormatter(logging.Formatter):
    """uvicorn's text access line, ``INFO:     client - "GET /path HTTP/1.1" 200 OK``,
    made without copying the record (uvicorn's formatter copies it twice). For records
    whose arguments are already redacted: ``keystead.access``'s."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if not isinstance(args, tuple) or len(args) != len(_ACCESS_FIELDS):
            return super().format(record)
        client, method, path, version, status = args
        level = record.levelname
        phrase = _PHRASES.get(status, "")  # type: ignore[call-overload]
        line = f'{client} - "{method} {path} HTTP/{version}" {status} {phrase}'
        return f"{level}:{' ' * (8 - len(level))} {line}"


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


__all__ = ["AccessFormatter", "JsonFormatter", "RedactingFormatter", "configure_logging"]
