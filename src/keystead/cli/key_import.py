"""``keystead keys import FILE``: import keys from another system's export, CSV or
JSON lines, in batches with a progress bar; ``keystead keys import status``: how
many are still on a legacy hash (docs/operations.md, "Importing keys")."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, UsageProblem, command, state_of

BATCH = 500
_ROW_COLUMNS: list[Column] = [
    ("Line", "line"),
    ("Status", "status"),
    ("External id", "external_id"),
    ("Key", "key_id"),
    ("Field", "field"),
    ("Error", "detail"),
]
_SCHEME_COLUMNS: list[Column] = [
    ("Scheme", "scheme"),
    ("Imported", "imported"),
    ("On a legacy hash", "legacy"),
]


class Format(StrEnum):
    auto = "auto"
    csv = "csv"
    jsonl = "jsonl"


def register(app: typer.Typer) -> None:
    command(app, "import")(import_keys)


def import_keys(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(
            help="CSV or JSON lines (- for stdin); the word status shows how many keys are "
            "still on a legacy hash (./status for a file of that name)."
        ),
    ],
    file_format: Annotated[
        Format, typer.Option("--format", help="csv or jsonl; auto: by the file's suffix.")
    ] = Format.auto,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, store nothing.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Import keys: plaintext ({"key": ...}) or legacy hashes ({"key_hash": {"scheme",
    "value"}}), with the fields of keys create. Bad rows are listed, good rows kept
    (exit 1 when any row failed); a re-run skips rows whose external_id is imported."""
    if file == "status":
        with open_client(state_of(ctx)) as client:
            answer = client.key_import_status()
        out.emit(answer, json_out, lambda c: _status(c, answer))
        return
    rows, first_line = _read(file, file_format)
    if not rows:
        raise UsageProblem(f"{file}: no rows to import")
    report: dict[str, Any] = {"dry_run": dry_run, "imported": 0, "skipped": 0, "failed": 0}
    report.update(valid=0, rows=[])
    with open_client(state_of(ctx)) as client, _progress(len(rows)) as advance:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            answer = client.import_keys(batch, dry_run=dry_run)
            for name in ("imported", "skipped", "failed", "valid"):
                report[name] += answer[name]
            report["rows"].extend({**r, "row": r["row"] + start} for r in answer["rows"])
            advance(len(batch))
    out.emit(report, json_out, lambda c: _render(c, report, first_line))
    if report["failed"]:
        raise typer.Exit(1)


def _read(file: str, file_format: Format) -> tuple[list[Any], int]:
    """The rows of the file and the line of its first row (for the table)."""
    if file == "-":
        text = typer.get_text_stream("stdin").read()
    else:
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"{file}: cannot read it ({type(exc).__name__})") from None
    kind = file_format
    if kind is Format.auto:
        kind = Format.csv if file.lower().endswith(".csv") else Format.jsonl
    if kind is Format.csv:
        return _csv_rows(text, file), 2
    return _jsonl_rows(text, file), 1


def _jsonl_rows(text: str, file: str) -> list[Any]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise UsageProblem(f"{file}:{number}: not JSON ({exc.msg})") from None
    return rows


def _csv_rows(text: str, file: str) -> list[Any]:
    """Dotted headers nest (``key_hash.scheme``); empty cells are left out; a cell
    that is a JSON array or object (``["a.read"]``), true, false or a number where
    JSON means one, is that value."""
    reader = csv.DictReader(io.StringIO(text))
    rows: list[Any] = []
    try:
        for record in reader:
            row: dict[str, Any] = {}
            for header, cell in record.items():
                if header is None or cell is None or cell == "":
                    continue
                target = row
                *parents, name = header.strip().split(".")
                for parent in parents:
                    target = target.setdefault(parent, {})
                target[name] = _cell(cell)
            rows.append(row)
    except csv.Error as exc:
        raise UsageProblem(f"{file}:{reader.line_num}: not CSV ({exc})") from None
    return rows


def _cell(cell: str) -> Any:
    if cell[:1] in "[{" or cell in ("true", "false"):
        try:
            return json.loads(cell)
        except json.JSONDecodeError:
            return cell
    return cell


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    from keystead.cli._scan_sources import progress

    with progress(total, "importing", unit_bytes=False) as advance:
        yield advance


def _render(console: Console, report: dict[str, Any], first_line: int) -> None:
    verb = "would import" if report["dry_run"] else "imported"
    count = report["valid"] if report["dry_run"] else report["imported"]
    console.print(
        f"{count} {verb}, {report['skipped']} skipped (imported before), {report['failed']} failed",
        markup=False,
    )
    failed = [r for r in report["rows"] if r["status"] == "failed"]
    if failed:
        shown = [
            {
                **r,
                "line": r["row"] + first_line,
                "field": (r.get("error") or {}).get("field"),
                "detail": (r.get("error") or {}).get("detail"),
            }
            for r in failed
        ]
        console.print(out.table(shown, _ROW_COLUMNS, title="Rows not imported"))


def _status(console: Console, answer: dict[str, Any]) -> None:
    console.print(f"{answer['legacy']} imported keys are still on a legacy hash", markup=False)
    if answer["schemes"]:
        console.print(out.table(answer["schemes"], _SCHEME_COLUMNS, title="Imported keys"))


__all__ = ["register"]
