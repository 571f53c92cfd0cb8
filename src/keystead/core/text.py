"""Text every store can hold.

PostgreSQL refuses NUL characters in text and JSON, and no driver (psycopg,
sqlite3) can encode a lone UTF-16 surrogate (``"\\ud800"``, which JSON may spell
and Python strings may hold) to UTF-8. Faces refuse such text where the caller
can fix it (``problem_of``), and clean it where it comes from someone else's
request (``storable``): a middleware's end user, a recorded request context.
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"
"""What stands for a character no store can hold (U+FFFD REPLACEMENT CHARACTER)."""


def problem_of(value: str) -> str | None:
    """Why no store can hold this text, as a phrase for an error message
    ("NUL characters"), or None when every store can."""
    if "\x00" in value:
        return "NUL characters"
    if not value.isascii():  # O(1): a pure-ASCII string says so
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "lone UTF-16 surrogates"
    return None


def storable(value: str, limit: int) -> str:
    """The text as every store holds it: cut to ``limit`` characters, NUL
    characters and lone surrogates replaced by U+FFFD (a surrogate pair split
    over two characters is joined into the one character it spells)."""
    if len(value) > limit:
        value = value[:limit]
    if "\x00" in value:
        value = value.replace("\x00", REPLACEMENT)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            joined = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
            value = joined[:limit]
    return value


def is_storable(value: str, limit: int) -> bool:
    """``storable(value, limit) == value``, quickly for the usual ASCII text."""
    if len(value) > limit or "\x00" in value:
        return False
    return value.isascii() or problem_of(value) is None


__all__ = ["REPLACEMENT", "is_storable", "problem_of", "storable"]
