"""SQLAlchemy 2 store for SQLite and PostgreSQL, with Alembic migrations."""

from keystead.store.sql.store import SqlStore

__all__ = ["SqlStore"]
