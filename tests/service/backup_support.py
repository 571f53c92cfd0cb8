"""What the backup tests share: a pair of empty stores of any two kinds of the
backend table, a store with something of everything in it, and what it holds."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import BACKENDS, backend_database
from keystead.config import Settings
from keystead.core.archive import unb64
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.keyring import open_keyring
from keystead.service import Keystead
from keystead.service.backup_file import BackupReader, BackupWriter
from keystead.store.sql.engine import create_engine
from keystead.store.sql.tables import metadata

PAIRS = [
    pytest.param(
        source.values[0],
        target.values[0],
        id=f"{source.id}-to-{target.id}",
        marks=[*source.marks, *target.marks],
    )
    for source in BACKENDS
    for target in BACKENDS
]
"""Every (source, target) pair of store kinds: a backend added to BACKENDS joins."""

CONTEXTS = [
    VerifyContext(),
    VerifyContext(ip="203.0.113.9", permissions="documents.read"),
    VerifyContext(ip="198.51.100.1", permissions="documents.read"),
    VerifyContext(ip="203.0.113.9", permissions="admin.delete"),
]
"""Each key is verified in each of these before the backup and after the restore."""


@contextmanager
def two_databases(source: str, target: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        urls = []
        for name, backend in (("source", source), ("target", target)):
            (tmp_path / name).mkdir()
            urls.append(stack.enter_context(backend_database(backend, tmp_path / name)))
        yield urls[0], urls[1]


def settings_for(url: str, secret: str, home: Path) -> Settings:
    """Settings of a store at ``url``; the master key lives in ``home``."""
    return Settings(
        _env_file=None, database_url=url, secret=secret, secret_file=home / "keystead.secret"
    )


@dataclass
class World:
    """What was put in a source store, and how its keys answered."""

    workspace_id: str
    keys: list[str] = field(default_factory=list)
    verdicts: list[tuple[str, str | None]] = field(default_factory=list)
    secret_versions: dict[int, dict[str, str]] = field(default_factory=dict)
    audit_entries: int = 0


async def verdicts(ks: Keystead, keys: list[str]) -> list[tuple[str, str | None]]:
    found = []
    for key in keys:
        for context in CONTEXTS:
            verdict = await ks.verify(key, context)
            found.append((verdict.code.value, None if verdict.key is None else verdict.key.id))
    return found


async def populate(ks: Keystead, root: Principal, clock: ManualClock) -> World:
    """Keys of every kind (permissions, limits, restrictions, revoked, disabled),
    a secret of two versions, usage, rollups, an audit chain with a checkpoint."""
    api = await ks.apis.create(root, name="payments", prefix="acme")
    rich = await ks.keys.create(
        root,
        api_id=api.id,
        owner_id="cust_42",
        name="gold",
        permissions=["documents.*"],
        meta={"tier": "gold", "nothing": None, "ratio": 0.1},
        ratelimits=[{"name": "rpm", "limit": 1000, "duration_s": 60}],
        credits={"remaining": 500},
        restrictions={"ips": {"allow": ["203.0.113.0/24"]}},
        expires_at=datetime.fromtimestamp(clock.now() + 86_400 * 30, UTC),
    )
    plain = await ks.keys.create(root, api_id=api.id)
    revoked = await ks.keys.create(root, api_id=api.id, permissions=["documents.read"])
    await ks.keys.revoke(root, revoked.key.id)
    disabled = await ks.keys.create(root, api_id=api.id)
    await ks.keys.disable(root, disabled.key.id)
    keys = [rich.plaintext, plain.plaintext, revoked.plaintext, disabled.plaintext]
    keys.append("acme_" + "x" * 40)  # not a key: answers the same everywhere
    await ks.secrets.put(root, "secret", "payments/stripe", {"api_key": "sk_live_1"})
    await ks.secrets.put(root, "secret", "payments/stripe", {"api_key": "sk_live_2", "n": "2"})
    world = World(root.workspace_id, keys)
    world.verdicts = await verdicts(ks, keys)
    for version in (1, 2):
        read = await ks.secrets.get(root, "secret", "payments/stripe", version)
        world.secret_versions[version] = dict(read.data)
    clock.advance(3600)
    await ks.flush()
    await ks.audit.checkpoint(root)
    world.audit_entries = (await ks.audit.verify(root)).entries
    return world


async def table_counts(url: str) -> dict[str, int]:
    """Rows per table of the store at ``url``, counted with plain SQL."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            counts = {}
            for table in metadata.sorted_tables:
                if table.name in names:
                    count = sa.select(sa.func.count()).select_from(table)
                    counts[table.name] = (await connection.execute(count)).scalar_one()
            return counts
    finally:
        await engine.dispose()


def _plain(value: object) -> object:
    """A value as both kinds of store hand it back: times in aware UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


async def table_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table at ``url`` in key order, as Python values; each
    JSON column also says whether it is SQL NULL (JSON null reads as None too)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = {}
            for table in metadata.sorted_tables:
                nulls = [c.is_(None) for c in table.columns if isinstance(c.type, sa.JSON)]
                query = sa.select(*table.columns, *nulls).order_by(*table.primary_key.columns)
                rows = (await connection.execute(query)).all()
                found[table.name] = [tuple(_plain(v) for v in row) for row in rows]
            return found
    finally:
        await engine.dispose()


def relabel(
    settings: Settings,
    source: Path,
    target: Path,
    revision: str,
    without: Collection[str] = (),
) -> None:
    """Copy the backup ``source`` to ``target`` as if made at ``revision`` (whose
    tables must hold the same columns), under the same data key; the tables named in
    ``without`` (newer than ``revision``, and empty) are left out, as that revision's
    backup would not have them."""
    reader = BackupReader(source)
    try:
        wrapping = reader.header["encryption"]
        keyring = open_keyring(settings.master_key_location())
        data_key = keyring.unwrap(wrapping["key_version"], unb64(wrapping["wrapped_key"], "key"))
        tables = [t for t in reader.header["tables"] if t["name"] not in without]
        assert all(t["rows"] == 0 for t in reader.header["tables"] if t["name"] in without)
        header = {**reader.header, "revision": revision, "tables": tables}
        writer = BackupWriter(target, header, data_key)
        current = None
        for value in reader.values(data_key):
            if isinstance(value, dict):  # a table's start, or the end of the rows
                current = value.get("table")
            if current not in without:
                writer.line(value)
        writer.commit()
    finally:
        reader.close()
