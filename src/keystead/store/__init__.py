"""Persistence. ``open_store(url)`` picks the backend from the URL's scheme."""

from __future__ import annotations

from keystead.errors import ConfigurationError
from keystead.store.base import KeyFilter, Store

_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")


def open_store(url: str) -> Store:
    scheme = url.partition(":")[0].partition("+")[0].lower()
    if scheme in _SQL_SCHEMES:
        from keystead.store.sql import SqlStore

        return SqlStore(url)
    known = ", ".join(f"{s}://" for s in _SQL_SCHEMES)
    raise ConfigurationError(f"unknown database URL scheme '{scheme}'; use one of {known}")


__all__ = ["KeyFilter", "Store", "open_store"]
