"""The fields of ``keystead secrets put``: never a value on the command line.

A value typed as an argument lands in the shell's history and in the process list
(``ps``) for every user of the machine to read, so ``FIELD=VALUE`` is refused. A
field's value comes from a file (``FIELD=@path``), from stdin (``FIELD=-``, one
field at most) or from a prompt that does not echo (``FIELD`` alone, on a terminal).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from keystead.cli._runtime import UsageProblem, interactive

ARGV_REFUSED = (
    "refusing {field}=VALUE: a value on the command line lands in the shell history and "
    "the process list; give {field}=@FILE, {field}=- (stdin) or {field} alone (a prompt "
    "that does not echo)"
)


def read_fields(specs: list[str]) -> dict[str, str]:
    """``FIELD=@file``, ``FIELD=-`` or ``FIELD`` -> {field: value}."""
    if not specs:
        raise UsageProblem("give at least one field: FIELD=@FILE, FIELD=- or FIELD")
    fields: dict[str, str] = {}
    stdin_used = False
    for spec in specs:
        name, eq, source = spec.partition("=")
        if not name:
            raise UsageProblem(f"a field needs a name: {spec!r} (FIELD=@FILE, FIELD=- or FIELD)")
        if name in fields:
            raise UsageProblem(f"the field {name!r} is given twice")
        if not eq:
            fields[name] = _prompt(name)
        elif source == "-":
            if stdin_used:
                raise UsageProblem("only one field can be read from stdin (FIELD=-)")
            stdin_used = True
            fields[name] = _stdin()
        elif source.startswith("@") and len(source) > 1:
            fields[name] = _file(name, Path(source[1:]))
        else:
            raise UsageProblem(ARGV_REFUSED.format(field=name))
    return fields


def _prompt(name: str) -> str:
    if not interactive():
        raise UsageProblem(
            f"{name} alone asks for its value, which needs a terminal; "
            f"give {name}=- (stdin) or {name}=@FILE"
        )
    value: str = typer.prompt(f"{name}", hide_input=True, err=True)
    return value


def _stdin() -> str:
    """All of stdin, less one final newline (what ``echo`` or a typed line adds)."""
    text = sys.stdin.read()
    return text[:-1] if text.endswith("\n") else text


def _file(name: str, path: Path) -> str:
    """The file's text, exactly (a final newline included)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageProblem(f"{name}: the file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageProblem(f"{name}: cannot read the file {path}: {exc.strerror}") from None


__all__ = ["ARGV_REFUSED", "read_fields"]
