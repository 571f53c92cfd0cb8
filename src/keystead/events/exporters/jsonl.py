"""JSON lines: one object per record, to a file (appended, flushed per batch,
optionally rotated by size) or to standard output.

``jsonl:///var/log/keystead/export.jsonl?max_bytes=10485760&backups=5``,
``jsonl://stdout``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from keystead.errors import ConfigurationError
from keystead.events.exporters._options import Options
from keystead.events.exporters.base import ExportRecord, SinkStats, format_time, scrub

logger = logging.getLogger(__name__)

_LEVELS = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")


def encode(record: ExportRecord) -> bytes:
    """One JSON line (with its ``\\n``); every string is redacted."""
    line: dict[str, Any] = {
        "time": format_time(record.time),
        "kind": record.kind,
        "name": scrub(record.name),
        "severity": record.severity,
        "level": _LEVELS[record.severity],
        "fields": scrub(dict(record.fields)),
    }
    return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)


class JsonLinesSink:
    """Appends JSON lines to ``path``, or writes them to stdout when ``path`` is
    None. With ``max_bytes`` the file is rotated (``.1`` ... ``.<backups>``)
    before a batch would grow it past that size."""

    def __init__(self, path: Path | None, *, max_bytes: int = 0, backups: int = 5) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.stats = SinkStats()
        self._lock = asyncio.Lock()
        self._failing = False

    @classmethod
    def from_url(cls, url: str) -> JsonLinesSink:
        parts = urlsplit(url)
        options = Options(url, parts.query)
        max_bytes = options.integer("max_bytes", 0, minimum=0)
        backups = options.integer("backups", 5, minimum=1)
        options.finish()
        if parts.netloc == "stdout" and not parts.path:
            return cls(None)
        if parts.netloc or not parts.path:
            raise ConfigurationError(
                "a JSON lines sink is jsonl:///absolute/path.jsonl or jsonl://stdout"
            )
        return cls(Path(unquote(parts.path)), max_bytes=max_bytes, backups=backups)

    @property
    def target(self) -> str:
        return "jsonl://stdout" if self.path is None else f"jsonl://{self.path}"

    async def emit(self, records: Sequence[ExportRecord]) -> None:
        if not records:
            return
        data = b"".join(encode(record) for record in records)
        async with self._lock:
            try:
                if self.path is None:
                    _write_stdout(data)
                else:
                    await asyncio.to_thread(self._append, data)
            except (OSError, ValueError) as exc:
                self.stats.errors += 1
                self.stats.dropped += len(records)
                if not self._failing:
                    logger.warning("export to %s failed: %s", self.target, type(exc).__name__)
                self._failing = True
                return
        self._failing = False
        self.stats.sent += len(records)

    async def close(self) -> None:
        async with self._lock:
            pass  # every batch is flushed when emit returns

    def _append(self, data: bytes) -> None:
        path = self.path
        assert path is not None  # noqa: S101 - only called for files
        if self.max_bytes:
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size and size + len(data) > self.max_bytes:
                self._rotate(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as handle:
            handle.write(data)
            handle.flush()

    def _rotate(self, path: Path) -> None:
        for index in range(self.backups - 1, 0, -1):
            older = path.with_name(f"{path.name}.{index}")
            if older.exists():
                older.replace(path.with_name(f"{path.name}.{index + 1}"))
        path.replace(path.with_name(f"{path.name}.1"))


def _write_stdout(data: bytes) -> None:
    stream = sys.stdout  # looked up per call: tests and daemons may swap it
    stream.write(data.decode("utf-8"))
    stream.flush()


__all__ = ["JsonLinesSink", "encode"]
