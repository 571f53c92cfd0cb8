"""What a SQL store holds, read back whole, for the tests that prove no secret is
among it: every table's rows, on whichever server the store runs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.store.sql.mysql import blocking_arguments


async def stored_rows(connection: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Each table of the connection's database (or schema) and its rows."""
    names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
    found: dict[str, list[tuple[Any, ...]]] = {}
    for name in names:
        everything = sa.select(sa.text("*")).select_from(sa.table(name))
        found[name] = [tuple(row) for row in (await connection.execute(everything)).all()]
    return found


def mariadb_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The same, read over a blocking connection (PyMySQL) from a ``mysql://`` URL."""
    import pymysql

    conn = pymysql.connect(**blocking_arguments(url))
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW TABLES")
            names = [str(row[0]) for row in cursor.fetchall()]
            found: dict[str, list[tuple[Any, ...]]] = {}
            for name in names:
                cursor.execute(f"SELECT * FROM `{name}`")  # noqa: S608 - names from the server
                found[name] = [tuple(row) for row in cursor.fetchall()]
            return found
    finally:
        conn.close()


def as_bytes(value: Any) -> bytes:
    """A stored cell as the bytes a search for a secret looks in."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()
