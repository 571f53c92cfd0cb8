"""Backup and restore of a store (docs/operations.md): a consistent snapshot of
the whole store or one workspace into an encrypted file, and that file restored
into an empty store of any kind.

Local operations: they act on the store of ``KEYSTEAD_DATABASE_URL`` and this
machine's server secret and master key, with or without a server running on it.
The archive is encrypted under the master key, or under a passphrase for copies
kept elsewhere; either way the values sealed under the master key inside it stay
sealed, and key hashes are HMACs under the server secret: a restored store opens
with the same server secret and master key only, which both commands check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from keystead import __version__
from keystead.config import Settings
from keystead.core.archive import (
    FORMAT,
    NOT_A_BACKUP,
    PassphraseWrapper,
    b64,
    new_data_key,
    unb64,
)
from keystead.core.audit import stamp
from keystead.core.clock import Clock, SystemClock
from keystead.core.envelope import KeyWrapper
from keystead.errors import ConfigurationError, IntegrityError, NotFound, ValidationError
from keystead.keyring import Keyring, open_keyring
from keystead.service.backup_file import BackupReader, BackupWriter
from keystead.service.store_checks import checked_store
from keystead.store import Store
from keystead.store.sql.backup_load import restoring
from keystead.store.sql.backup_read import snapshot
from keystead.store.sql.backup_tables import SETTINGS_TABLE, parts
from keystead.store.sql.tables import metadata

Progress = Callable[[str, int], None]
"""Called with a table's name and how many more of its rows were copied."""
MASTER_KEY, PASSPHRASE = "master-key", "passphrase"
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What a backup holds (what both commands report): never a value."""

    path: str
    scope: str
    """``store`` (every workspace) or ``workspace``."""
    workspace_id: str | None
    revision: str
    encryption: str
    """``master-key`` or ``passphrase``."""
    with_usage: bool
    created_at: str
    tables: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    bytes: int = 0
    database: str = ""
    """The kind of store written (restore) or read (backup): sqlite, postgresql..."""


class _SettingsView:
    """A backup's settings rows, for the checks a service opens a store with."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    async def get_setting(self, name: str) -> str | None:
        return self._values.get(name)

    async def put_setting_if_absent(self, name: str, value: str) -> str:
        return self._values.setdefault(name, value)

    async def replace_setting(self, name: str, expected: str, value: str) -> bool:
        if self._values.get(name) != expected:
            return False
        self._values[name] = value
        return True


async def _check_keys(values: dict[str, str], settings: Settings, keyring: Keyring) -> None:
    """Refuse unless this machine's server secret and master key are the store's,
    as ``Keystead.open`` would (the same checks, on the backup's settings)."""
    secret = settings.load_secret(create=False)
    view = cast(Store, _SettingsView(dict(values)))
    await checked_store(view, secret, keyring, migrate=False, create_master_key=False)


def _wrapper(
    settings: Settings, passphrase: str | None, encryption: dict[str, Any]
) -> tuple[KeyWrapper, Keyring]:
    keyring = open_keyring(settings.master_key_location())
    if passphrase is not None:
        return PassphraseWrapper(passphrase, encryption), keyring
    if not keyring.exists():
        raise ConfigurationError(
            f"no master key at {keyring.url} to encrypt or open the backup with: give a "
            "passphrase, or set KEYSTEAD_MASTER_KEY_URL"
        )
    return keyring, keyring


async def backup(
    settings: Settings,
    path: Path,
    *,
    workspace_id: str | None = None,
    passphrase: str | None = None,
    with_usage: bool = False,
    clock: Clock | None = None,
    progress: Progress | None = None,
    totals: Callable[[dict[str, int]], None] | None = None,
) -> BackupSummary:
    """Write the store (or one workspace) as of one moment to ``path``.

    ``totals`` is told each table's row count before any row is copied."""
    encryption: dict[str, Any] = (
        {"mode": MASTER_KEY}
        if passphrase is None
        else {"mode": PASSPHRASE, **PassphraseWrapper.new_params()}
    )
    wrapper, keyring = _wrapper(settings, passphrase, encryption)
    created = stamp(datetime.fromtimestamp((clock or SystemClock()).now(), UTC))
    async with snapshot(settings.database_url) as snap:
        revision = await snap.revision()
        await _check_keys(await snap.settings(), settings, keyring)
        if workspace_id is not None and not await snap.has_workspace(workspace_id):
            raise NotFound(f"no workspace {workspace_id} in this store")
        chosen = parts(workspace_id, with_usage=with_usage)
        counts = {part.table.name: await snap.count(part) for part in chosen}
        if totals is not None:
            totals(counts)
        data_key = new_data_key()
        encryption["key_version"], wrapped = wrapper.wrap(data_key)
        encryption["wrapped_key"] = b64(wrapped)
        header = {
            "format": FORMAT,
            "keystead": __version__,
            "revision": revision,
            "created_at": created,
            "scope": "store" if workspace_id is None else "workspace",
            "workspace_id": workspace_id,
            "with_usage": with_usage,
            "dialect": snap.dialect,
            "compression": "zlib",
            "encryption": encryption,
            "tables": [
                {"name": part.table.name, "rows": counts[part.table.name], "columns": part.columns}
                for part in chosen
            ],
        }
        writer = BackupWriter(path, header, data_key)
        try:
            for part in chosen:
                writer.line({"table": part.table.name})
                async for batch in snap.rows(part):
                    writer.lines(batch)
                    if progress is not None:
                        progress(part.table.name, len(batch))
            writer.line({"end": True})
            writer.commit()
        except BaseException:
            writer.discard()
            raise
    return _summary(header, str(path), writer.size, snap.dialect)


def _summary(header: dict[str, Any], path: str, size: int, database: str) -> BackupSummary:
    """What ``header`` says, checked for its form (a header is authenticated only
    as its chunks are opened: until then it is read as untrusted input)."""
    try:
        tables = {str(t["name"]): int(t["rows"]) for t in header["tables"]}
        summary = BackupSummary(
            path=path,
            scope=header["scope"],
            workspace_id=header["workspace_id"],
            revision=header["revision"],
            encryption=header["encryption"]["mode"],
            with_usage=bool(header["with_usage"]),
            created_at=header["created_at"],
            tables=tables,
            rows=sum(tables.values()),
            bytes=size,
            database=database,
        )
    except (KeyError, TypeError, ValueError):
        raise IntegrityError(f"{NOT_A_BACKUP}: its header lacks a field") from None
    if summary.scope not in ("store", "workspace") or not isinstance(summary.revision, str):
        raise IntegrityError(f"{NOT_A_BACKUP}: its header is malformed")
    if not (summary.revision.isdigit() and len(summary.revision) == 4) or not all(
        isinstance(value, str)
        for value in (summary.revision, summary.created_at, summary.workspace_id or "")
    ):
        raise IntegrityError(f"{NOT_A_BACKUP}: its header is malformed")
    return summary


def _columns(header: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    try:
        found = {
            t["name"]: [(str(name), str(kind)) for name, kind in t["columns"]]
            for t in header["tables"]
        }
    except (KeyError, TypeError, ValueError):
        raise IntegrityError(f"{NOT_A_BACKUP}: its header's tables are malformed") from None
    unknown = sorted(set(found) - set(metadata.tables))
    if unknown:
        raise IntegrityError(f"the backup holds tables this Keystead does not know: {unknown}")
    return found


def _data_key(
    settings: Settings, header: dict[str, Any], passphrase: str | None
) -> tuple[bytes, Keyring]:
    encryption = header.get("encryption")
    if not isinstance(encryption, dict) or encryption.get("mode") not in (MASTER_KEY, PASSPHRASE):
        raise IntegrityError("the backup's header names no known encryption")
    if encryption["mode"] == PASSPHRASE and passphrase is None:
        raise ValidationError(
            "this backup is protected by a passphrase: give it", field="passphrase"
        )
    wrapper, keyring = _wrapper(
        settings, passphrase if encryption["mode"] == PASSPHRASE else None, encryption
    )
    wrapped = unb64(encryption.get("wrapped_key"), "wrapped key")
    version = encryption.get("key_version")
    if not isinstance(version, int):
        raise IntegrityError(f"{NOT_A_BACKUP}: its header names no master-key version")
    try:
        return wrapper.unwrap(version, wrapped), keyring
    except IntegrityError:
        if encryption["mode"] == PASSPHRASE:
            raise
        raise IntegrityError(
            f"the master key at {keyring.url} does not open this backup: it was made under "
            "another master key (or its header was altered)"
        ) from None


async def restore(
    settings: Settings,
    path: Path,
    *,
    passphrase: str | None = None,
    progress: Progress | None = None,
    totals: Callable[[dict[str, int]], None] | None = None,
) -> BackupSummary:
    """Restore the backup at ``path`` into the empty store of ``settings``."""
    reader = BackupReader(path)
    try:
        header = reader.header
        data_key, keyring = _data_key(settings, header, passphrase)
        summary = _summary(header, str(path), path.stat().st_size, "")
        columns = _columns(header)
        if totals is not None:
            totals(summary.tables)
        stream = _Tables(reader.values(data_key), list(columns))
        first = stream.next_table()
        settings_rows = list(stream.rows(_BATCH * 1000))
        if first != SETTINGS_TABLE:
            raise IntegrityError("the backup does not begin with the store's settings")
        names = [c for c, _ in columns[first]]
        await _check_keys(
            {r[names.index("name")]: r[names.index("value")] for r in settings_rows},
            settings,
            keyring,
        )
        async with restoring(settings.database_url, summary.revision) as loader:
            name: str | None = first
            batch = settings_rows
            while name is not None:
                while batch:
                    await loader.insert(name, columns[name], batch)
                    if progress is not None:
                        progress(name, len(batch))
                    batch = list(stream.rows(_BATCH))
                name = stream.next_table()
                batch = list(stream.rows(_BATCH)) if name is not None else []
            await loader.finish(summary.tables)
            database = loader.dialect
    finally:
        reader.close()
    return BackupSummary(**{**_fields(summary), "database": database})


def _fields(summary: BackupSummary) -> dict[str, Any]:
    return {name: getattr(summary, name) for name in BackupSummary.__dataclass_fields__}


class _Tables:
    """The row stream read table by table, in the header's order."""

    def __init__(self, values: Iterator[Any], names: list[str]) -> None:
        self._values = values
        self._names = iter(names)
        self._next: Any = None

    def _pull(self) -> Any:
        try:
            return next(self._values)
        except StopIteration:
            raise IntegrityError("the backup's rows end early") from None

    def next_table(self) -> str | None:
        """The next table's name, or None after the stream's end."""
        value = self._next if self._next is not None else self._pull()
        self._next = None
        expected = next(self._names, None)
        if value == {"end": True} and expected is None:
            for _ in self._values:  # the file's final chunk is checked there
                raise IntegrityError("the backup holds data after its end")
            return None
        if not isinstance(value, dict) or value.get("table") != expected:
            raise IntegrityError("the backup's tables are not the ones its header lists")
        return expected

    def rows(self, limit: int) -> Iterator[list[Any]]:
        """Up to ``limit`` rows of the current table."""
        if self._next is not None:
            return
        for _ in range(limit):
            value = self._pull()
            if not isinstance(value, list):
                self._next = value
                return
            yield value


__all__ = ["MASTER_KEY", "PASSPHRASE", "BackupSummary", "Progress", "backup", "restore"]
