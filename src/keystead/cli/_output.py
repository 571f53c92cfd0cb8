"""Output: one JSON document for scripts, or Rich tables and panels for people.

Data goes to stdout; messages, warnings and errors go to stderr, so
``keystead ... --json | jq`` always reads clean JSON. Values are rendered as
plain text (never as Rich markup), so a name like ``[red]x`` prints as typed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

Json = dict[str, Any]
Column = tuple[str, str]  # (header, field)

_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_UNBROKEN = frozenset({"id", "start", "api_id", "key_id", "state"})
PIPE_WIDTH = 160
ONCE_WARNING = "This is the only time it is shown: store it now in a secret manager."


def stdout() -> Console:
    """The data console: terminal width on a terminal, and wide enough for a whole
    key table when piped (where Rich would otherwise assume 80 columns)."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def error(message: str) -> None:
    stderr().print(Text.assemble(("error: ", "bold red"), message))


def note(message: str) -> None:
    stderr().print(Text(message))


def warn(message: str) -> None:
    stderr().print(Text.assemble(("warning: ", "bold yellow"), message))


def emit(data: object, json_mode: bool, render: Callable[[Console], None]) -> None:
    """``data`` as JSON with ``--json``, otherwise whatever ``render`` prints."""
    if json_mode:
        print_json(data)
    else:
        render(stdout())


def cell(value: object, *, compact: bool = False) -> Text:
    if isinstance(value, str) and _ISO_TIME.fullmatch(value):
        return Text(
            f"{value[:10]} {value[11:16]}" if compact else f"{value[:10]} {value[11:19]} UTC"
        )
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, list | tuple):
        return Text(", ".join(str(v) for v in value) if value else "-")
    if isinstance(value, dict):
        return Text(json.dumps(value, ensure_ascii=False) if value else "-")
    return Text(str(value))


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, title: str) -> Table:
    out = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for header, name in columns:
        out.add_column(header, no_wrap=name in _UNBROKEN, overflow="fold")
    for row in rows:
        out.add_row(*(cell(row.get(name), compact=True) for _, name in columns))
    return out


def record(data: Mapping[str, Any], fields: Sequence[Column], *, title: str) -> Panel:
    """One object as a two-column panel."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, name in fields:
        if name in data:
            grid.add_row(label, cell(data[name]))
    return Panel(grid, title=Text(title), title_align="left", expand=False)


def reveal(console: Console, label: str, secret: str) -> None:
    """Print a secret once, alone on its line so it copies cleanly, with the warning."""
    console.print(Text(f"{label}:", style="bold"))
    console.print(Text(secret), soft_wrap=True)
    console.print(Text(ONCE_WARNING, style="yellow"))


def reveal_many(console: Console, rows: Sequence[Mapping[str, Any]]) -> None:
    """Several (id, secret) pairs, one per line, unwrapped, then the warning."""
    for row in rows:
        console.print(Text(f"{row['id']}  {row['key']}"), soft_wrap=True)
    console.print(Text(ONCE_WARNING, style="yellow"))


def show_list(
    items: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, title: str, empty: str
) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        if items:
            console.print(table(items, columns, title=title))
        else:
            note(empty)

    return render


__all__ = [
    "ONCE_WARNING",
    "Column",
    "Json",
    "cell",
    "emit",
    "error",
    "note",
    "print_json",
    "record",
    "reveal",
    "reveal_many",
    "show_list",
    "stderr",
    "stdout",
    "table",
    "warn",
]
