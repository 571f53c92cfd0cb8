"""The shared part of the SQL store: the engine, transactions, and one place
that turns driver errors into Keystead's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.audit import AuditRecord
from keystead.errors import Conflict, StoreUnavailable
from keystead.events import audit as pending_audit
from keystead.store.sql.audit_chain import append_records
from keystead.store.sql.audit_sqlite import sqlite_audit_appender
from keystead.store.sql.audit_thread import AuditThread
from keystead.store.sql.engine import create_engine, in_memory
from keystead.store.sql.token_denials import write_denials
from keystead.store.tokens import DenialRecord, take_denials


class SqlBase:
    def __init__(self, url: str) -> None:
        self._engine = create_engine(url)
        # single-statement reads need no transaction: one round trip, not BEGIN/SELECT/COMMIT;
        # their own engine, so a checkout does not switch the connection's mode and back
        self._reader = (
            self._engine.execution_options(isolation_level="AUTOCOMMIT")
            if in_memory(url)
            else create_engine(url, isolation_level="AUTOCOMMIT")
        )
        self.dialect = self._engine.dialect.name
        self._audit_appender = _audit_appender(url, self.dialect, self._engine.url.database)
        """Group-committed audit batches (of reads), off the engine: one hop to a thread."""
        self.unavailable_errors = 0
        """How many times the database could not be reached (for /metrics)."""
        self.on_audit: Callable[[Sequence[AuditRecord]], None] | None = None
        """Called with the audit records of each committed transaction."""
        self.on_token_denials: Callable[[Sequence[DenialRecord]], None] | None = None
        """Called with the token denials of each committed transaction."""

    def __repr__(self) -> str:
        return f"SqlStore({self.dialect})"

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        async with self._errors(), self._engine.begin() as connection:
            try:
                yield connection
            except BaseException:
                pending_audit.discard()
                take_denials()
                raise
            # the audit entries and token denials of this change commit (or roll back) with it
            records = pending_audit.take()
            if records:
                await append_records(connection, records)
            denials = take_denials()
            if denials:
                denials = await write_denials(connection, denials)
        if records and self.on_audit is not None:
            self.on_audit(records)
        if denials and self.on_token_denials is not None:
            self.on_token_denials(denials)

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Chain ``records`` in one transaction of their own (the audit entries of
        reads, gathered by ``AuditWriter``): on PostgreSQL the chain head's row lock
        is taken once for all of them."""
        if not records:
            return
        if self._audit_appender is not None:
            await self._audit_appender.append(records)
        else:
            async with self._errors(), self._engine.begin() as connection:
                await append_records(connection, records)
        if self.on_audit is not None:
            self.on_audit(records)

    @asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        try:
            yield
        except sa.exc.IntegrityError as exc:
            raise Conflict(_conflict_detail(exc)) from None
        except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as exc:
            self.unavailable_errors += 1
            raise StoreUnavailable(
                f"the {self.dialect} store failed: {type(exc).__name__}"
            ) from exc
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                self.unavailable_errors += 1
                raise StoreUnavailable(f"lost the {self.dialect} connection") from exc
            if type(exc) is sa.exc.DatabaseError:  # not a subclass: a damaged database file
                self.unavailable_errors += 1
                raise StoreUnavailable(f"the {self.dialect} database cannot be read") from exc
            raise

    async def _all(self, stmt: sa.Executable) -> list[sa.Row[Any]]:
        async with self._errors(), self._reader.connect() as c:
            return list((await c.execute(stmt)).all())

    async def _one(self, stmt: sa.Executable) -> sa.Row[Any] | None:
        async with self._errors(), self._reader.connect() as c:
            return (await c.execute(stmt)).first()


def _conflict_detail(exc: sa.exc.IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "name" in text and "api" in text:
        return "an API with this name already exists in the workspace"
    return "the change conflicts with an existing record"


def _audit_appender(url: str, dialect: str, database: str | None) -> AuditThread[Any] | None:
    """The thread that writes read batches: for PostgreSQL, MariaDB, and SQLite in a file (an
    in-memory database is another one on each connection: it keeps the engine)."""
    if dialect == "postgresql":
        from keystead.store.sql.audit_postgres import postgres_audit_appender

        return postgres_audit_appender(url)
    if dialect == "mysql":
        from keystead.store.sql.audit_mysql import mysql_audit_appender

        return mysql_audit_appender(url)
    if dialect == "sqlite" and database and not in_memory(url):
        return sqlite_audit_appender(Path(database))
    return None
