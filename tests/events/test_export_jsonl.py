"""The JSON lines sink: to a file (appended, flushed per batch, rotated by
size) and to stdout."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from keystead.core import keyformat
from keystead.events.exporters import ExportRecord, open_sink
from keystead.events.exporters.jsonl import JsonLinesSink

WHEN = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)


def usage(n: int, **fields: object) -> ExportRecord:
    return ExportRecord(
        kind="usage", time=WHEN, severity=6, name="verify", fields={"n": n, **fields}
    )


async def test_lines_are_appended_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "export.jsonl"
    sink = open_sink(f"jsonl://{path}")
    await sink.emit([usage(1), usage(2)])
    assert len(path.read_text().splitlines()) == 2  # flushed when emit returns
    await sink.emit([usage(3)])
    await sink.close()

    lines = [orjson.loads(line) for line in path.read_text().splitlines()]
    assert [line["fields"]["n"] for line in lines] == [1, 2, 3]
    assert lines[0] == {
        "time": "2026-05-04T03:02:01.000000Z",
        "kind": "usage",
        "name": "verify",
        "severity": 6,
        "level": "info",
        "fields": {"n": 1},
    }
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sink.stats.sent == 3 and sink.stats.dropped == 0


async def test_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    key = keyformat.generate("ks")
    sink = open_sink("jsonl://stdout")
    await sink.emit([usage(7, header=f"Bearer {key}")])
    await sink.close()

    out = capsys.readouterr().out
    assert key not in out
    line = orjson.loads(out)
    assert line["fields"] == {"n": 7, "header": f"Bearer {keyformat.REDACTED}"}


async def test_the_file_rotates_by_size(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    sink = open_sink(f"jsonl://{path}?max_bytes=400&backups=2")
    for n in range(12):
        await sink.emit([usage(n, pad="x" * 60)])
    await sink.close()

    kept = [path, path.with_name("export.jsonl.1"), path.with_name("export.jsonl.2")]
    assert all(p.exists() for p in kept)
    assert not path.with_name("export.jsonl.3").exists()
    assert all(p.stat().st_size <= 400 for p in kept)
    newest = [orjson.loads(line)["fields"]["n"] for line in path.read_text().splitlines()]
    assert newest[-1] == 11
    assert sink.stats.sent == 12


async def test_a_write_failure_is_counted_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    sink = JsonLinesSink(blocker / "export.jsonl")
    await sink.emit([usage(1), usage(2)])
    await sink.close()
    assert sink.stats.dropped == 2 and sink.stats.errors == 1 and sink.stats.sent == 0
