"""What a SQL store holds, read back whole, for the tests that prove no secret is
among it: every table's rows, on whichever server the store runs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def stored_rows(connection: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Each table of the connection's database (or schema) and its rows."""
    names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
    found: dict[str, list[tuple[Any, ...]]] = {}
    for name in names:
        everything = sa.select(sa.text("*")).select_from(sa.table(name))
        found[name] = [tuple(row) for row in (await connection.execute(everything)).all()]
    return found
