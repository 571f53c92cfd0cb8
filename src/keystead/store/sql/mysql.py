"""What MariaDB and MySQL need beyond the portable tables and queries.

The tables are declared once, with SQLAlchemy's generic types. On this dialect
three of them would be wrong as SQLAlchemy renders them, so DDL renders them so:

- ``DateTime(timezone=True)`` as ``DATETIME(6)``: a bare ``DATETIME`` drops the
  microseconds (stored times are UTC; the rows read them back as such);
- ``Float`` as ``DOUBLE``: a bare ``FLOAT`` is single precision, and expiry times
  are seconds since the epoch (seven significant digits would round them by minutes);
- ``LargeBinary(n)`` as ``VARBINARY(n)``: ``BLOB(n)`` cannot be indexed whole, and
  a hash column is a unique index.

Keystead's tables (``ks_*``) are created with a binary collation that does not pad
(``utf8mb4_nopad_bin`` on MariaDB, ``utf8mb4_0900_bin`` on MySQL 8): the server's
default collation is case- and accent-insensitive, and ``utf8mb4_bin`` pads, so
``'ab'`` would equal ``'ab '``; either would let a lookup by id, name or owner match
another row, where PostgreSQL and SQLite compare the characters. Binary columns
(the hashes) compare byte for byte whatever the collation.

Locks: ``GET_LOCK`` is held by a session (not a transaction), so every lock taken
here is released in the same call that took it, or with the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable

_COLLATION = {True: "utf8mb4_nopad_bin", False: "utf8mb4_0900_bin"}
"""By ``dialect.is_mariadb``."""
LOCK_WAIT_S = 30
"""How long a lock is waited for before the call fails (StoreUnavailable)."""


@compiles(sa.DateTime, "mysql")
def _datetime(type_: sa.DateTime, compiler: Any, **kw: Any) -> str:
    if type_.timezone:
        return "DATETIME(6)"
    return str(compiler.visit_datetime(type_, **kw))


@compiles(sa.Float, "mysql")
def _float(type_: sa.Float[Any], compiler: Any, **kw: Any) -> str:
    if type(type_) is sa.Float and type_.precision is None:
        return "DOUBLE"
    return str(compiler.visit_float(type_, **kw))


@compiles(sa.LargeBinary, "mysql")
def _binary(type_: sa.LargeBinary, compiler: Any, **kw: Any) -> str:
    if type_.length is not None:
        return f"VARBINARY({type_.length})"
    return "LONGBLOB"


@compiles(CreateTable, "mysql")
def _create_table(create: CreateTable, compiler: Any, **kw: Any) -> str:
    text = str(compiler.visit_create_table(create, **kw))
    name = create.element.name
    if name.startswith("ks_") or name == "alembic_version":
        collation = _COLLATION[bool(getattr(compiler.dialect, "is_mariadb", False))]
        text = f"{text.rstrip()} DEFAULT CHARSET=utf8mb4 COLLATE={collation}"
    return text


@dataclass(frozen=True)
class PartialUnique:
    """A unique index over the rows where ``when`` holds, as MariaDB can have one
    (it has no partial index): a generated column that is ``column`` on those
    rows and NULL on the others (a unique index admits any number of NULLs), and a
    unique index on it. The tables declare the partial index; the migration makes
    this instead on this dialect."""

    table: str
    index: str
    column: str
    when: str
    generated: str
    type: str

    def ddl(self) -> list[str]:
        return [
            f"ALTER TABLE {self.table} ADD COLUMN {self.generated} {self.type} "
            f"AS (IF({self.when}, {self.column}, NULL)) VIRTUAL",
            f"CREATE UNIQUE INDEX {self.index} ON {self.table} ({self.generated})",
        ]


CURRENT_SIGNING_KEY = PartialUnique(
    table="ks_token_signing_keys",
    index="uq_ks_token_signing_keys_current",
    column="api_id",
    when="retired_at IS NULL",
    generated="ks_current_api_id",
    type="VARCHAR(40)",
)
PARTIAL_UNIQUES = (CURRENT_SIGNING_KEY,)
"""Every partial unique index of the tables, in its MariaDB form."""


def blocking_arguments(url: str) -> dict[str, Any]:
    """``pymysql.connect`` keywords for the server and database of a ``mysql://`` URL."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    return {
        "host": target.host or "127.0.0.1",
        "port": target.port or 3306,
        "user": target.username or "",
        "password": target.password or "",
        "database": target.database,
        "charset": "utf8mb4",
    }


def _lock_name(name: str) -> str:
    """``GET_LOCK`` names are at most 64 characters: a long one is hashed."""
    if len(name) <= 64:
        return name
    import hashlib

    return "keystead:" + hashlib.sha256(name.encode()).hexdigest()[:48]


def session_lock(connection: sa.Connection, name: str) -> None:
    got = connection.execute(
        sa.text("SELECT GET_LOCK(:name, :wait)"), {"name": _lock_name(name), "wait": LOCK_WAIT_S}
    ).scalar()
    if got != 1:
        raise sa.exc.OperationalError("GET_LOCK", {"name": name}, TimeoutError(name))


def session_unlock(connection: sa.Connection, name: str) -> None:
    connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": _lock_name(name)})


async def take_lock(connection: AsyncConnection, name: str) -> None:
    await connection.run_sync(session_lock, name)


async def release_lock(connection: AsyncConnection, name: str) -> None:
    await connection.run_sync(session_unlock, name)


__all__ = [
    "CURRENT_SIGNING_KEY",
    "LOCK_WAIT_S",
    "PARTIAL_UNIQUES",
    "PartialUnique",
    "blocking_arguments",
    "release_lock",
    "session_lock",
    "session_unlock",
    "take_lock",
]
