"""Stored secrets on SQLite and PostgreSQL: mounts, secrets, sealed versions.

Its methods restate ``store.secrets.SecretStore``: the protocol other backends implement too.

Check-and-set is one conditional statement: ``UPDATE ... SET current_version = n + 1
WHERE ... AND current_version = n``. It is the transaction's first statement, so
SQLite takes its write lock there (concurrent writers queue on ``busy_timeout``), and
PostgreSQL makes a concurrent writer wait and then re-checks the condition against the
committed row: either way the second writer expecting ``n`` updates nothing. Two writers
creating the same secret collide on the unique (workspace, mount, path) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.events import Event
from keystead.core.secrets import MountConfig, SealedVersion, SecretMetadata, SecretMount
from keystead.errors import Conflict
from keystead.store.secrets import VersionChange
from keystead.store.sql import secret_rows as rows
from keystead.store.sql.base import SqlBase
from keystead.store.sql.lifecycle_queries import write_events
from keystead.store.sql.tables import secret_mounts, secret_versions, secrets


class _Stale(Exception):
    """The check-and-set failed: roll the transaction (and its audit entry) back."""


def _where(workspace_id: str, mount: str, path: str) -> sa.ColumnElement[bool]:
    t = secrets.c
    return (t.workspace_id == workspace_id) & (t.mount == mount) & (t.path == path)


class SecretQueries(SqlBase):
    # mounts ------------------------------------------------------------------------
    async def insert_secret_mount(self, mount: SecretMount) -> tuple[SecretMount, bool]:
        try:
            async with self._tx() as c:
                await c.execute(secret_mounts.insert().values(**rows.mount_values(mount)))
            return mount, True
        except Conflict:
            found = await self.get_secret_mount(mount.workspace_id, mount.name)
            if found is None:
                raise
            return found, False

    async def get_secret_mount(self, workspace_id: str, name: str) -> SecretMount | None:
        t = secret_mounts.c
        row = await self._one(
            sa.select(secret_mounts).where((t.workspace_id == workspace_id) & (t.name == name))
        )
        return None if row is None else rows.mount(row)

    async def list_secret_mounts(self, workspace_id: str) -> list[SecretMount]:
        t = secret_mounts.c
        found = await self._all(
            sa.select(secret_mounts).where(t.workspace_id == workspace_id).order_by(t.name)
        )
        return [rows.mount(r) for r in found]

    async def update_secret_mount(
        self, workspace_id: str, name: str, config: MountConfig, at: datetime
    ) -> SecretMount | None:
        t = secret_mounts.c
        scope = (t.workspace_id == workspace_id) & (t.name == name)
        async with self._tx() as c:
            await c.execute(
                secret_mounts.update()
                .where(scope)
                .values(**rows.config_values(config), updated_at=at)
            )
            row = (await c.execute(sa.select(secret_mounts).where(scope))).first()
        return None if row is None else rows.mount(row)

    # secrets -----------------------------------------------------------------------
    async def get_secret(self, workspace_id: str, mount: str, path: str) -> SecretMetadata | None:
        async with self._errors(), self._reader.connect() as c:
            return await _load(c, _where(workspace_id, mount, path))

    async def read_secret_version(
        self, workspace_id: str, mount: str, path: str, version: int | None
    ) -> tuple[SecretMetadata, SealedVersion | None] | None:
        """The secret's ``versions`` hold only the version read. One statement outside
        any transaction: the secret's row joined to the version asked for (its current
        one when ``version`` is None), so a read takes no lock and no write."""
        v = secret_versions.c
        number = secrets.c.current_version if version is None else sa.literal(version)
        joined = secrets.outerjoin(
            secret_versions, (v.secret_id == secrets.c.id) & (v.version == number)
        )
        stmt = sa.select(
            secrets,
            v.version.label("v_version"),
            v.sealed.label("v_sealed"),
            v.key_version.label("v_key_version"),
            v.created_at.label("v_created_at"),
            v.deletion_time.label("v_deletion_time"),
            v.destroyed.label("v_destroyed"),
        ).select_from(joined)
        row = await self._one(stmt.where(_where(workspace_id, mount, path)))
        if row is None:
            return None
        if row.v_version is None:
            return rows.secret(row, ()), None
        sealed = rows.joined_version(row)
        return rows.secret(row, (sealed.info,)), sealed

    async def write_secret_version(
        self,
        secret: SecretMetadata,
        version: SealedVersion,
        *,
        expected: int,
        keep: int,
        events: Sequence[Event] = (),
    ) -> SecretMetadata | None:
        where = _where(secret.workspace_id, secret.mount, secret.path)
        number = version.info.version
        try:
            async with self._tx() as c:
                updated = await c.execute(
                    secrets.update()
                    .where(where & (secrets.c.current_version == expected))
                    .values(current_version=number, updated_at=secret.updated_time)
                )
                if not updated.rowcount:
                    if expected != 0:
                        raise _Stale
                    values = {**rows.secret_values(secret), "current_version": number}
                    await c.execute(secrets.insert().values(**values))
                secret_id = (await c.execute(sa.select(secrets.c.id).where(where))).scalar_one()
                await c.execute(
                    secret_versions.insert().values(**rows.version_values(secret_id, version))
                )
                await _prune(c, secret_id, number, keep)
                await write_events(c, events)
                stored = await _load(c, where)
        except (_Stale, Conflict):
            return None
        return stored

    async def put_secret_metadata(
        self, secret: SecretMetadata, *, keep: int, events: Sequence[Event] = ()
    ) -> SecretMetadata:
        where = _where(secret.workspace_id, secret.mount, secret.path)
        async with self._tx() as c:
            updated = await c.execute(
                secrets.update().where(where).values(**rows.settings_values(secret))
            )
            if not updated.rowcount:
                await c.execute(secrets.insert().values(**rows.secret_values(secret)))
            row = (await c.execute(sa.select(secrets).where(where))).one()
            await _prune(c, row.id, int(row.current_version), keep)
            await write_events(c, events)
            stored = await _load(c, where)
        assert stored is not None  # noqa: S101 - written in this transaction
        return stored

    async def change_secret_versions(
        self,
        workspace_id: str,
        mount: str,
        path: str,
        versions: Sequence[int],
        change: VersionChange,
        at: datetime,
        events: Callable[[SecretMetadata, list[int]], Sequence[Event]] | None = None,
    ) -> tuple[SecretMetadata, list[int]] | None:
        where = _where(workspace_id, mount, path)
        v = secret_versions.c
        async with self._tx() as c:
            secret_id = (await c.execute(sa.select(secrets.c.id).where(where))).scalar()
            if secret_id is None:
                return None
            chosen = (v.secret_id == secret_id) & v.version.in_(sorted(set(versions)))
            chosen = chosen & v.destroyed.is_(False)
            values: dict[str, Any]
            if change == "delete":
                chosen = chosen & (v.deletion_time.is_(None) | (v.deletion_time > at))
                values = {"deletion_time": at}
            elif change == "undelete":
                chosen = chosen & v.deletion_time.is_not(None)
                values = {"deletion_time": None}
            else:
                values = {"sealed": None, "key_version": None, "destroyed": True}
            if self.dialect == "mysql":  # no UPDATE ... RETURNING: lock the rows, then change
                locked = sa.select(v.version).where(chosen).with_for_update()
                picked = sorted(int(n) for n in (await c.execute(locked)).scalars())
                if picked:
                    mine = (v.secret_id == secret_id) & v.version.in_(picked)
                    await c.execute(secret_versions.update().where(mine).values(**values))
                changed = picked
            else:
                result = await c.execute(
                    secret_versions.update().where(chosen).values(**values).returning(v.version)
                )
                changed = sorted(int(n) for n in result.scalars())
            stored = await _load(c, where)
            if stored is None:  # deleted meanwhile: an update of no row takes no lock
                return None
            if changed and events is not None:
                await write_events(c, events(stored, changed))
        return stored, changed

    async def delete_secret(
        self, workspace_id: str, mount: str, path: str, events: Sequence[Event] = ()
    ) -> bool:
        where = _where(workspace_id, mount, path)
        async with self._tx() as c:
            secret_id = (await c.execute(sa.select(secrets.c.id).where(where))).scalar()
            if secret_id is None:
                return False
            # explicit: SQLite enforces the cascade only with foreign_keys on
            await c.execute(
                secret_versions.delete().where(secret_versions.c.secret_id == secret_id)
            )
            await c.execute(secrets.delete().where(secrets.c.id == secret_id))
            await write_events(c, events)
        return True

    async def list_secret_paths(self, workspace_id: str, mount: str, prefix: str) -> list[str]:
        t = secrets.c
        stmt = sa.select(t.path).where((t.workspace_id == workspace_id) & (t.mount == mount))
        if prefix:
            stmt = stmt.where(t.path.startswith(prefix, autoescape=True))
        found = await self._all(stmt.order_by(t.path))
        # SQLite's LIKE ignores ASCII case: the exact test is here
        return [str(r.path) for r in found if str(r.path).startswith(prefix)]


async def _load(c: AsyncConnection, where: sa.ColumnElement[bool]) -> SecretMetadata | None:
    row = (await c.execute(sa.select(secrets).where(where))).first()
    if row is None:
        return None
    found = await c.execute(
        sa.select(*rows.INFO_COLUMNS)
        .where(secret_versions.c.secret_id == row.id)
        .order_by(secret_versions.c.version)
    )
    return rows.secret(row, tuple(rows.info(r) for r in found))


async def _prune(c: AsyncConnection, secret_id: str, current: int, keep: int) -> None:
    """Delete the versions beyond the newest ``keep``; record the oldest kept."""
    v = secret_versions.c
    if current > keep:
        await c.execute(
            secret_versions.delete().where(
                (v.secret_id == secret_id) & (v.version <= current - keep)
            )
        )
    oldest = (
        await c.execute(sa.select(sa.func.min(v.version)).where(v.secret_id == secret_id))
    ).scalar()
    await c.execute(
        secrets.update().where(secrets.c.id == secret_id).values(oldest_version=oldest or 0)
    )


__all__ = ["SecretQueries"]
