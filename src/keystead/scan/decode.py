"""Text hidden one step away: base64 segments and Jupyter notebook cells.

Base64 is decoded one level deep only, and only when the result is text: a
secret base64-encoded twice is rare, and decoding further would let a small
hostile file multiply the work.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import Any

from keystead.scan.prefilter import BASE64_MIN

BASE64_RE = re.compile(rf"[A-Za-z0-9+/]{{{BASE64_MIN},}}={{0,2}}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
NOTEBOOK_SUFFIX = ".ipynb"
_TEXT_MIMES = ("text/", "application/json", "application/javascript")


def base64_segments(
    text: str, pos: int = 0, endpos: int | None = None
) -> Iterator[tuple[int, int, str]]:
    """``(start, end, decoded text)`` for every base64 run in
    ``text[pos:endpos]`` that decodes to printable UTF-8; runs that decode to
    binary are passed over."""
    for match in BASE64_RE.finditer(text, pos, len(text) if endpos is None else endpos):
        decoded = decode_base64(match.group())
        if decoded is not None:
            yield match.start(), match.end(), decoded


def decode_base64(segment: str) -> str | None:
    """The text a base64 segment encodes, or ``None`` when it is not text."""
    body = segment.rstrip("=")
    if len(body) % 4 == 1:  # no base64 string has this length; drop the stray
        body = body[:-1]
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if _CONTROL.search(decoded) is not None:
        return None
    return decoded


def notebook_texts(data: bytes) -> list[str] | None:
    """Each cell's source and each textual output of a Jupyter notebook, or
    ``None`` when ``data`` is not a notebook (it is then scanned as text).
    Images and other binary outputs are left out."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        return None
    texts: list[str] = []
    for cell in document["cells"]:
        if not isinstance(cell, dict):
            continue
        texts.append(_joined(cell.get("source")))
        outputs = cell.get("outputs")
        for output in outputs if isinstance(outputs, list) else ():
            if not isinstance(output, dict):
                continue
            texts.append(_joined(output.get("text")))
            texts.append(_joined(output.get("traceback")))
            data_by_mime = output.get("data")
            if isinstance(data_by_mime, dict):
                for mime, value in data_by_mime.items():
                    if str(mime).startswith(_TEXT_MIMES):
                        texts.append(_joined(value))
    return [text for text in texts if text]


def _joined(value: Any) -> str:
    """nbformat stores multi-line strings as a list of lines or as one string."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(item for item in value if isinstance(item, str))
    if isinstance(value, dict):  # application/json output
        return json.dumps(value)
    return ""


def json_escaped(text: str) -> tuple[str, ...]:
    """How ``text`` may appear inside a JSON string in a notebook file."""
    ascii_form = json.dumps(text)[1:-1]
    unicode_form = json.dumps(text, ensure_ascii=False)[1:-1]
    return (unicode_form,) if ascii_form == unicode_form else (unicode_form, ascii_form)


__all__ = [
    "BASE64_RE",
    "NOTEBOOK_SUFFIX",
    "base64_segments",
    "decode_base64",
    "json_escaped",
    "notebook_texts",
]
