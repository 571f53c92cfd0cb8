"""Restoring a backup's rows into an empty store of any kind, all or nothing.

The target is brought by the migrations to the backup's schema revision, the
rows go in parent tables first with this schema's column types (so a value
read from SQLite is written as PostgreSQL wants it), then the migrations after
that revision run, autoincrement counters move past the restored ids, and the
row counts are checked against the backup's: in one transaction, which rolls
back whole on any failure. On SQLite the transaction is opened by hand
(``BEGIN IMMEDIATE``), so that the schema's creation is part of it too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.errors import Conflict, IntegrityError, StoreUnavailable, ValidationError
from keystead.store.sql.backup_tables import VALUE, decode, insert_table
from keystead.store.sql.engine import async_url, create_engine, head_revision
from keystead.store.sql.tables import metadata

_MIGRATIONS = Path(__file__).parent / "migrations"


class Loader:
    """Inserts a backup's rows inside the restore's transaction."""

    def __init__(self, connection: AsyncConnection, revision: str) -> None:
        self._c = connection
        self._revision = revision
        self.dialect = connection.dialect.name
        self.finished = False

    async def insert(
        self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        table = insert_table(name, list(columns))
        names = [column for column, _ in columns]
        converted = [(i, kind) for i, (_, kind) in enumerate(columns) if kind != VALUE]
        params = []
        for row in rows:
            if len(row) != len(names):
                raise IntegrityError(f"the backup holds a malformed row of {name}")
            values = list(row)
            for i, kind in converted:
                values[i] = decode(kind, values[i])
            params.append(dict(zip(names, values, strict=True)))
        try:
            await self._c.execute(table.insert(), params)
        except sa.exc.DBAPIError as exc:
            if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
                raise
            raise ValidationError(
                f"the target database refused a row of {name} ({type(exc.orig).__name__})"
            ) from None

    async def finish(self, expected: Mapping[str, int]) -> None:
        """Check the counts, run the newer migrations, reset the counters."""
        for name, rows in expected.items():
            table = metadata.tables[name]
            found = (
                await self._c.execute(sa.select(sa.func.count()).select_from(table))
            ).scalar_one()
            if found != rows:
                raise IntegrityError(f"{name}: {found} rows restored, the backup holds {rows}")
        if self._revision != head_revision():
            await self._c.run_sync(_upgrade, "head")
        if self._c.dialect.name == "postgresql":
            await self._c.run_sync(_reset_sequences)
        self.finished = True


def _target_state(connection: sa.Connection) -> tuple[str | None, list[str]]:
    """The target's schema revision (None: no schema yet) and its tables that hold rows."""
    names = set(sa.inspect(connection).get_table_names())
    revision = None
    if "alembic_version" in names:
        row = connection.execute(sa.text("SELECT version_num FROM alembic_version")).first()
        revision = None if row is None else str(row[0])
    busy = [
        table.name
        for table in metadata.sorted_tables
        if table.name in names
        and connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
    ]
    return revision, busy


def _upgrade(connection: sa.Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _reset_sequences(connection: sa.Connection) -> None:
    """PostgreSQL's sequences do not move when ids are inserted: set each past the
    largest restored id (SQLite and MariaDB move their counters themselves)."""
    quote = connection.dialect.identifier_preparer.quote
    for table in metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        name, col = quote(table.name), quote(column.name)
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "  # noqa: S608 - names from the schema
                f"COALESCE((SELECT MAX({col}) FROM {name}), 0) + 1, false)"
            ),
            {"table": table.name, "column": column.name},
        )


@asynccontextmanager
async def restoring(url: str, revision: str) -> AsyncIterator[Loader]:
    """A loader into the empty store at ``url``, committed when the block ends
    after :meth:`Loader.finish`, rolled back whole otherwise."""
    if revision > head_revision():
        raise ValidationError(
            f"the backup is at schema revision {revision}, newer than this Keystead's "
            f"({head_revision()}): restore it with the Keystead version that made it, or newer"
        )
    sqlite = async_url(url).get_backend_name() == "sqlite"
    engine = create_engine(url, isolation_level="AUTOCOMMIT" if sqlite else None)
    try:
        async with engine.connect() as connection, connection.begin():
            if sqlite:
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                current, busy = await connection.run_sync(_target_state)
                if busy:
                    raise Conflict(
                        f"the target store is not empty ({', '.join(busy[:3])}"
                        f"{' ...' if len(busy) > 3 else ''} hold rows): a backup is restored "
                        "into an empty database only"
                    )
                if current is not None and current > revision:
                    raise Conflict(
                        f"the target database is at schema revision {current}, newer than the "
                        f"backup's ({revision}): restore into a new, empty database"
                    )
                await connection.run_sync(_upgrade, revision)
                loader = Loader(connection, revision)
                yield loader
                if not loader.finished:
                    raise IntegrityError("the restore ended before the backup did")
            except BaseException:
                if sqlite:
                    await connection.exec_driver_sql("ROLLBACK")
                raise
            if sqlite:
                await connection.exec_driver_sql("COMMIT")
    except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as exc:
        raise StoreUnavailable(f"the target store failed: {type(exc).__name__}") from exc
    finally:
        await engine.dispose()


__all__ = ["Loader", "restoring"]
