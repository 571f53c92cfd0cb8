"""Env files: read them (``keystead run --env-file``), write them (``secrets export``).

The syntax read is the common dotenv one::

    # a comment
    STRIPE_KEY=keystead://secret/payments#stripe_key
    export LOG_LEVEL=info            # 'export ' is allowed; so is a trailing comment
    GREETING='kept as written: $HOME \\n'
    MOTD="double quotes read escapes: \\n \\t \\" \\\\ \\$"

- An unquoted value runs to the end of the line or to `` #``; whitespace around it
  is trimmed. Single quotes keep the text as written. Double quotes read the escapes
  ``\\n \\r \\t \\" \\\\ \\$`` (any other backslash is kept) and may span lines.
- Nothing is interpolated: ``$HOME`` stays ``$HOME``.
- A name appears once; a second definition is an error, as is any line that is not
  a definition. Errors name the file and line, never the value.

Whether a value is a reference (``keystead://mount/path#field``) is decided by
``plan``, after unquoting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from keystead.consume.envnames import check_env_name
from keystead.errors import ValidationError

MAX_FILE_BYTES = 1024 * 1024
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


@dataclass(frozen=True, slots=True)
class EnvLine:
    name: str
    value: str
    line: int


def read_env_file(path: Path) -> list[EnvLine]:
    """The definitions of the env file at ``path`` (ValidationError when it
    cannot be read or does not parse)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(
            f"cannot read the env file {path}: {exc.strerror}", field="env_file"
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationError(
            f"the env file {path} is over {MAX_FILE_BYTES // 1024} KiB", field="env_file"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"the env file {path} is not UTF-8", field="env_file") from None
    return parse_env(text, source=str(path))


def parse_env(text: str, *, source: str = "env file") -> list[EnvLine]:
    lines = text.replace("\r\n", "\n").split("\n")
    found: list[EnvLine] = []
    seen: set[str] = set()
    index = 0
    while index < len(lines):
        number = index + 1
        stripped = lines[index].strip()
        index += 1
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}, line {number}"
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[len("export") :].lstrip()
        name, equals, rest = stripped.partition("=")
        name = name.rstrip()
        if not equals:
            raise ValidationError(f"{where}: expected NAME=value", field="env_file")
        check_env_name(name, where=where)
        if name in seen:
            raise ValidationError(f"{where}: {name} is defined twice", field="env_file")
        seen.add(name)
        value, used = _value(rest.lstrip(), lines, index, where)
        index += used
        found.append(EnvLine(name, value, number))
    return found


def _value(text: str, lines: list[str], next_index: int, where: str) -> tuple[str, int]:
    """The value starting at ``text``, and how many following lines it took."""
    if text[:1] in ("'", '"'):
        quote, body, used = text[0], text[1:], 0
        while True:
            end = _closing(body, quote)
            if end is not None:
                tail = body[end + 1 :].strip()
                if tail and not tail.startswith("#"):
                    raise ValidationError(
                        f"{where}: unexpected text after the closing quote", field="env_file"
                    )
                inner = body[:end]
                return (inner if quote == "'" else _unescape(inner)), used
            if next_index + used >= len(lines):
                raise ValidationError(f"{where}: the quoted value is not closed", field="env_file")
            body += "\n" + lines[next_index + used]
            used += 1
    value, _, _ = text.partition(" #")
    value, _, _ = value.partition("\t#")
    return value.strip(), 0


def _closing(body: str, quote: str) -> int | None:
    escaped = False
    for position, ch in enumerate(body):
        if quote == '"' and ch == "\\" and not escaped:
            escaped = True
            continue
        if ch == quote and not escaped:
            return position
        escaped = False
    return None


def _unescape(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        following = next(chars, "")
        out.append(_ESCAPES.get(following, "\\" + following))
    return "".join(out)


def dotenv_value(value: str) -> str:
    """``value`` quoted for a dotenv file: single quotes (read as written) when it
    holds no ``'`` and no line break, else double quotes with escapes."""
    if "'" not in value and "\n" not in value and "\r" not in value:
        return f"'{value}'"
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("$", "\\$")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'


def write_dotenv(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f"{name}={dotenv_value(value)}\n" for name, value in pairs)


__all__ = [
    "MAX_FILE_BYTES",
    "EnvLine",
    "dotenv_value",
    "parse_env",
    "read_env_file",
    "write_dotenv",
]
