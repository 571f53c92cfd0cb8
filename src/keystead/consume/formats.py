"""What ``keystead secrets export`` writes: the resolved variables as a dotenv
file, a JSON object or shell ``export`` lines.

- ``dotenv``: ``NAME='value'``, or ``NAME="..."`` with ``\\n \\r \\" \\\\ \\$``
  escapes when the value holds a ``'`` or a line break (``dotenv.dotenv_value``);
  ``keystead run --env-file`` reads it back exactly.
- ``json``: one object, name -> value, in the order of the sources (a secret's fields
  in the order the server answers them: by name).
- ``shell``: ``export NAME=...`` quoted with ``shlex.quote``, for ``eval`` or
  ``source`` in a POSIX shell.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Literal

from keystead.consume.dotenv import write_dotenv

Format = Literal["dotenv", "json", "shell"]
FORMATS: tuple[Format, ...] = ("dotenv", "json", "shell")


def render(env: Mapping[str, str], format: Format) -> str:
    if format == "json":
        return json.dumps(dict(env), indent=2, ensure_ascii=False) + "\n"
    if format == "shell":
        return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
    return write_dotenv(env.items())


__all__ = ["FORMATS", "Format", "render"]
