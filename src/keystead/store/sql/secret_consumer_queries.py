"""The secret lifecycle on SQLite and PostgreSQL: consumers, rotation policies and
notices. Its methods restate ``store.secret_consumers.SecretConsumerStore``.

Reads arrive in batches, already aggregated: one upsert per (secret, version,
credential) that keeps the earliest first read, the latest last read and adds the
counts, in a fixed order so two nodes flushing the same rows cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from keystead.core.events import Event
from keystead.errors import Conflict
from keystead.store.secret_consumers import (
    RotationDue,
    RotationSetting,
    SecretConsumer,
    SecretReads,
)
from keystead.store.sql.base import SqlBase
from keystead.store.sql.inserts import insert_new, upsert
from keystead.store.sql.lifecycle_queries import write_events
from keystead.store.sql.tables import (
    secret_consumers,
    secret_mount_rotation,
    secret_rotation,
    secret_rotation_notices,
    secret_versions,
    secrets,
)


class SecretConsumerQueries(SqlBase):
    # consumers ---------------------------------------------------------------------
    async def record_secret_reads(self, reads: Sequence[SecretReads]) -> int:
        if not reads:
            return 0
        ordered = sorted(reads, key=lambda r: (r.secret_id, r.version, r.credential))
        t = secret_consumers.c
        stmt = upsert(
            secret_consumers,
            self.dialect,
            [t.secret_id, t.version, t.credential],
            lambda new: {
                "first_read": sa.case(
                    (new.first_read < t.first_read, new.first_read), else_=t.first_read
                ),
                "last_read": sa.case(
                    (new.last_read > t.last_read, new.last_read), else_=t.last_read
                ),
                "reads": t.reads + new.reads,
            },
        )
        async with self._tx() as c:
            wanted = sorted({r.secret_id for r in ordered})
            alive = set(
                (await c.execute(sa.select(secrets.c.id).where(secrets.c.id.in_(wanted))))
                .scalars()
                .all()
            )
            rows = [
                {
                    "secret_id": r.secret_id,
                    "version": r.version,
                    "credential": r.credential,
                    "workspace_id": r.workspace_id,
                    "first_read": r.first_read,
                    "last_read": r.last_read,
                    "reads": r.reads,
                }
                for r in ordered
                if r.secret_id in alive
            ]
            if rows:
                await c.execute(stmt, rows)
        return len(rows)

    async def list_secret_consumers(
        self, workspace_id: str, secret_id: str, version: int | None = None
    ) -> list[SecretConsumer]:
        t = secret_consumers.c
        stmt = sa.select(secret_consumers).where(
            (t.workspace_id == workspace_id) & (t.secret_id == secret_id)
        )
        if version is not None:
            stmt = stmt.where(t.version == version)
        found = await self._all(stmt.order_by(t.version.desc(), t.last_read.desc(), t.credential))
        return [
            SecretConsumer(
                version=int(r.version),
                credential=str(r.credential),
                first_read=_at(r.first_read),
                last_read=_at(r.last_read),
                reads=int(r.reads),
            )
            for r in found
        ]

    # rotation policies -------------------------------------------------------------
    async def get_secret_rotation(
        self, workspace_id: str, secret_id: str
    ) -> RotationSetting | None:
        t = secret_rotation.c
        row = await self._one(
            sa.select(secret_rotation)
            .join(secrets, secrets.c.id == t.secret_id)
            .where((t.secret_id == secret_id) & (secrets.c.workspace_id == workspace_id))
        )
        return None if row is None else _setting(row)

    async def put_secret_rotation(
        self, workspace_id: str, secret_id: str, setting: RotationSetting | None
    ) -> None:
        t = secret_rotation.c
        async with self._tx() as c:
            owned = await c.execute(
                sa.select(secrets.c.id).where(
                    (secrets.c.id == secret_id) & (secrets.c.workspace_id == workspace_id)
                )
            )
            if owned.scalar() is None:
                return
            await c.execute(secret_rotation.delete().where(t.secret_id == secret_id))
            if setting is not None:
                await c.execute(
                    secret_rotation.insert().values(secret_id=secret_id, **_values(setting))
                )

    async def get_mount_rotation(self, workspace_id: str, mount: str) -> RotationSetting | None:
        t = secret_mount_rotation.c
        row = await self._one(
            sa.select(secret_mount_rotation).where(
                (t.workspace_id == workspace_id) & (t.mount == mount)
            )
        )
        return None if row is None else _setting(row)

    async def put_mount_rotation(
        self, workspace_id: str, mount: str, setting: RotationSetting | None
    ) -> None:
        t = secret_mount_rotation.c
        async with self._tx() as c:
            await c.execute(
                secret_mount_rotation.delete().where(
                    (t.workspace_id == workspace_id) & (t.mount == mount)
                )
            )
            if setting is not None:
                await c.execute(
                    secret_mount_rotation.insert().values(
                        workspace_id=workspace_id, mount=mount, **_values(setting)
                    )
                )

    async def secrets_due_for_rotation(self, now: datetime) -> list[RotationDue]:
        """Secrets with a policy of their own (few: every one is looked at), then,
        per mount default, only the secrets old enough (indexed by the cutoff)."""
        found: list[RotationDue] = []
        own = secret_rotation.c
        with_own = (
            _latest_live(now)
            .add_columns(own.max_age_s, own.warn_before_s)
            .join(secret_rotation, own.secret_id == secrets.c.id)
        )
        for row in await self._all(with_own):
            due = _due(row, "secret")
            if due.created_at + timedelta(seconds=due.max_age_s - due.warn_before_s) <= now:
                found.append(due)
        m = secret_mount_rotation.c
        for default in await self._all(sa.select(secret_mount_rotation)):
            cutoff = now - timedelta(seconds=int(default.max_age_s) - int(default.warn_before_s))
            stmt = (
                _latest_live(now)
                .add_columns(m.max_age_s, m.warn_before_s)
                .join(
                    secret_mount_rotation,
                    (m.workspace_id == secrets.c.workspace_id) & (m.mount == secrets.c.mount),
                )
                .where(
                    (m.workspace_id == default.workspace_id)
                    & (m.mount == default.mount)
                    & (secret_versions.c.created_at <= cutoff)
                    & ~sa.exists().where(own.secret_id == secrets.c.id)
                )
            )
            found.extend(_due(row, "mount") for row in await self._all(stmt))
        return sorted(found, key=lambda d: (d.workspace_id, d.mount, d.path))

    async def mark_secret_rotation_due(
        self, secret_id: str, version: int, at: datetime, events: Sequence[Event] = ()
    ) -> bool:
        stmt = insert_new(secret_rotation_notices, self.dialect).values(
            secret_id=secret_id, version=version, notified_at=at
        )
        try:
            async with self._tx() as c:
                inserted = (await c.execute(stmt)).rowcount
                if inserted:
                    await write_events(c, events)
        except Conflict:  # the secret was deleted meanwhile
            return False
        return bool(inserted)


def _latest_live(now: datetime) -> sa.Select[Any]:
    """Each secret's newest live version (not deleted, not destroyed), not yet
    noticed: its place and creation time."""
    v = secret_versions.c
    live = v.destroyed.is_(False) & (v.deletion_time.is_(None) | (v.deletion_time > now))
    latest = (
        sa.select(v.secret_id, sa.func.max(v.version).label("version"))
        .where(live)
        .group_by(v.secret_id)
        .subquery()
    )
    n = secret_rotation_notices.c
    s = secrets.c
    return (
        sa.select(s.workspace_id, s.id, s.mount, s.path, v.version, v.created_at)
        .select_from(secrets)
        .join(latest, latest.c.secret_id == s.id)
        .join(secret_versions, (v.secret_id == s.id) & (v.version == latest.c.version))
        .where(~sa.exists().where((n.secret_id == s.id) & (n.version == v.version)))
    )


def _due(row: sa.Row[Any], source: str) -> RotationDue:
    return RotationDue(
        workspace_id=str(row.workspace_id),
        secret_id=str(row.id),
        mount=str(row.mount),
        path=str(row.path),
        version=int(row.version),
        created_at=_at(row.created_at),
        max_age_s=int(row.max_age_s),
        warn_before_s=int(row.warn_before_s),
        source=source,
    )


def _at(value: datetime) -> datetime:
    """SQLite answers naive datetimes: they are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _setting(row: sa.Row[Any]) -> RotationSetting:
    return RotationSetting(
        max_age_s=int(row.max_age_s),
        warn_before_s=int(row.warn_before_s),
        updated_at=_at(row.updated_at),
    )


def _values(setting: RotationSetting) -> dict[str, Any]:
    return {
        "max_age_s": setting.max_age_s,
        "warn_before_s": setting.warn_before_s,
        "updated_at": setting.updated_at,
    }


__all__ = ["SecretConsumerQueries"]
