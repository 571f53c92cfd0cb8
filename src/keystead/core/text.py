"""Text every store can hold.

PostgreSQL refuses NUL characters in text and JSON, and no driver (psycopg,
sqlite3) can encode a lone UTF-16 surrogate (``"\\ud800"``, which JSON may spell
and Python strings may hold) to UTF-8. Faces refuse such text where the caller
can fix it (``problem_of``), and clean it where it comes from someone else's
request (``storable``): a middleware's end user, a recorded request context.
"""

from __future__ import annotations

from keystead.core.usage import UsageRecord

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


TEXT_WIDTHS = {
    "owner_id": 200,
    "ip": 64,
    "user_agent": 512,
    "method": 16,
    "path": 1024,
    "tags": 100,
}
"""The most characters a usage record's texts keep (its columns' widths; each tag)."""


def storable_record(record: UsageRecord) -> UsageRecord:
    """The usage record with texts every store can hold (``storable``): the
    record itself when they are already, as they nearly always are. Runs once
    per record on the usage writer, so plain ASCII within the widths is
    recognised inline, without a call per field."""
    owner, ip, agent, method, path = (
        record.owner_id, record.ip, record.user_agent, record.method, record.path
    )  # fmt: skip
    if (
        (owner is None or (len(owner) <= 200 and owner.isascii() and "\x00" not in owner))
        and (ip is None or (len(ip) <= 64 and ip.isascii() and "\x00" not in ip))
        and (agent is None or (len(agent) <= 512 and agent.isascii() and "\x00" not in agent))
        and (method is None or (len(method) <= 16 and method.isascii() and "\x00" not in method))
        and (path is None or (len(path) <= 1024 and path.isascii() and "\x00" not in path))
        and not record.tags
    ) or _texts_storable(record):  # fmt: skip
        return record
    return record._replace(
        owner_id=_fit(owner, "owner_id"),
        ip=_fit(ip, "ip"),
        user_agent=_fit(agent, "user_agent"),
        method=_fit(method, "method"),
        path=_fit(path, "path"),
        tags=tuple(storable(tag, 100) for tag in record.tags),
    )


def _texts_storable(record: UsageRecord) -> bool:
    return all(
        value is None or is_storable(value, TEXT_WIDTHS[name])
        for name, value in (
            ("owner_id", record.owner_id),
            ("ip", record.ip),
            ("user_agent", record.user_agent),
            ("method", record.method),
            ("path", record.path),
        )
    ) and all(is_storable(tag, 100) for tag in record.tags)


def _fit(value: str | None, name: str) -> str | None:
    return None if value is None else storable(value, TEXT_WIDTHS[name])


__all__ = [
    "REPLACEMENT",
    "TEXT_WIDTHS",
    "is_storable",
    "problem_of",
    "storable",
    "storable_record",
]
