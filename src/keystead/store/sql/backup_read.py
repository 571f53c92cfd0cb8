"""Reading a store for a backup: one read transaction over every table, so the
rows of all tables are one moment's, while the server keeps writing.

SQLite: one deferred transaction on a WAL database (readers see the snapshot of
their first read, writers go on). PostgreSQL (and other servers): REPEATABLE
READ, read only, on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.errors import ConfigurationError, StoreUnavailable
from keystead.store.sql.backup_tables import BYTES, TIME, Part, encode
from keystead.store.sql.engine import async_url, create_engine, head_revision
from keystead.store.sql.tables import settings

BATCH = 1000


class Snapshot:
    """The store as of one moment: its revision, its settings, counts and rows."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection
        self.dialect = connection.dialect.name

    async def revision(self) -> str:
        """The schema revision, which must be this Keystead's newest."""
        exists = await self._c.run_sync(lambda c: sa.inspect(c).has_table("alembic_version"))
        rows = (
            (await self._c.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
            if exists
            else []
        )
        if not rows:
            raise ConfigurationError("the store holds no Keystead database: nothing to back up")
        revision = str(rows[0][0])
        if revision != head_revision():
            raise ConfigurationError(
                f"the store is at schema revision {revision} and this Keystead's is "
                f"{head_revision()}: back it up with the Keystead version that serves it"
            )
        return revision

    async def settings(self) -> dict[str, str]:
        found = await self._c.execute(sa.select(settings.c.name, settings.c.value))
        return {str(name): str(value) for name, value in found.all()}

    async def has_workspace(self, workspace_id: str) -> bool:
        found = await self._c.execute(
            sa.text("SELECT 1 FROM ks_workspaces WHERE id = :id"), {"id": workspace_id}
        )
        return found.first() is not None

    async def count(self, part: Part) -> int:
        return int((await self._c.execute(part.count())).scalar_one())

    async def rows(self, part: Part) -> AsyncIterator[list[list[Any]]]:
        """The part's rows in batches, each row its values in column order, encoded."""
        converted = [(i, kind) for i, (_, kind) in enumerate(part.columns) if kind in (BYTES, TIME)]
        result = await self._c.stream(part.select())
        async for batch in result.partitions(BATCH):
            yield [_encoded(converted, row) for row in batch]


def _encoded(converted: Sequence[tuple[int, str]], row: sa.Row[Any]) -> list[Any]:
    """The row's values, those of bytes and time columns encoded (JSON columns
    are read as text, every other value goes as it is)."""
    values = list(row)
    for i, kind in converted:
        values[i] = encode(kind, values[i])
    return values


@asynccontextmanager
async def snapshot(url: str) -> AsyncIterator[Snapshot]:
    """A read-only snapshot of the store at ``url``, for as long as the block runs."""
    sqlite = async_url(url).get_backend_name() == "sqlite"
    engine = create_engine(url, isolation_level="AUTOCOMMIT" if sqlite else "REPEATABLE READ")
    try:
        async with engine.connect() as connection:
            if sqlite:  # deferred: the snapshot is that of the first read
                await connection.exec_driver_sql("BEGIN")
            elif connection.dialect.name == "postgresql":
                await connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield Snapshot(connection)
            finally:
                if sqlite:
                    await connection.exec_driver_sql("ROLLBACK")
                else:
                    await connection.rollback()
    except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as exc:
        raise StoreUnavailable(f"the store could not be read: {type(exc).__name__}") from exc
    finally:
        await engine.dispose()


__all__ = ["Snapshot", "snapshot"]
