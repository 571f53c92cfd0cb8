"""SQL queries of token signing keys and denials (``store.tokens.TokenStore``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.errors import Conflict
from keystead.store.sql.base import SqlBase
from keystead.store.sql.tables import apis, token_denials, token_signing_keys
from keystead.store.sql.token_denials import denial, write_denials
from keystead.store.tokens import DenialRecord, SigningKeyRecord

_k = token_signing_keys
_d = token_denials


class TokenQueries(SqlBase):
    async def add_signing_key(self, key: SigningKeyRecord, *, expected: str | None) -> bool:
        current = (_k.c.api_id == key.api_id) & _k.c.retired_at.is_(None)
        try:
            async with self._tx() as c:
                found = (await c.execute(sa.select(_k.c.id).where(current))).scalars().all()
                if list(found) != ([] if expected is None else [expected]):
                    raise _Lost  # rolled back: an audit entry pended for it too
                if found:
                    retired = await c.execute(
                        _k.update()
                        .where(current & (_k.c.id == expected))
                        .values(retired_at=key.created_at, publish_until=key.publish_until)
                    )
                    if retired.rowcount != 1:  # retired meanwhile (READ COMMITTED)
                        raise _Lost
                await c.execute(_k.insert().values(**_values(key)))
        except (_Lost, Conflict):  # Conflict: a first key inserted concurrently
            return False
        return True

    async def list_signing_keys(self, api_id: str | None) -> list[SigningKeyRecord]:
        signing_first = sa.case((_k.c.retired_at.is_(None), 0), else_=1)
        stmt = sa.select(_k).order_by(signing_first, _k.c.created_at.desc(), _k.c.id.desc())
        if api_id is not None:
            stmt = stmt.where(_k.c.api_id == api_id)
        return [_signing_key(r) for r in await self._all(stmt)]

    async def signing_keys_in_use(self) -> list[tuple[SigningKeyRecord, dict[str, Any] | None]]:
        stmt = (
            sa.select(_k, apis.c.token_policy)
            .join_from(_k, apis, apis.c.id == _k.c.api_id)
            .where(_k.c.retired_at.is_(None))
            .order_by(_k.c.api_id)
        )
        return [
            (_signing_key(r), None if r.token_policy is None else dict(r.token_policy))
            for r in await self._all(stmt)
        ]

    async def drop_signing_keys(self, until: datetime) -> list[SigningKeyRecord]:
        gone = _k.c.retired_at.is_not(None) & (_k.c.publish_until < until)
        async with self._tx() as c:
            found = [_signing_key(r) for r in (await c.execute(sa.select(_k).where(gone))).all()]
            if found:
                await c.execute(_k.delete().where(_k.c.id.in_([k.id for k in found])))
        return found

    async def put_denials(self, denials: Sequence[DenialRecord]) -> list[DenialRecord]:
        if not denials:
            return []
        async with self._tx() as c:
            stored = await write_denials(c, denials)
        if self.on_token_denials is not None:
            self.on_token_denials(stored)
        return stored

    async def list_denials(self, api_id: str, *, after: int = 0) -> list[DenialRecord]:
        stmt = sa.select(_d).where((_d.c.api_id == api_id) & (_d.c.seq > after)).order_by(_d.c.seq)
        return [denial(r) for r in await self._all(stmt)]

    async def prune_denials(self, now: float) -> int:
        latest = sa.select(sa.func.max(_d.c.seq)).group_by(_d.c.api_id).scalar_subquery()
        async with self._tx() as c:
            result = await c.execute(
                _d.delete().where((_d.c.expires_at < now) & _d.c.seq.not_in(latest))
            )
        return int(result.rowcount or 0)


class _Lost(Exception):
    """Another transaction retired the key first: roll back, report False."""


async def delete_api_tokens(connection: AsyncConnection, api_id: str) -> None:
    """Inside ``delete_api``'s transaction: the API's signing keys and denials."""
    await connection.execute(_k.delete().where(_k.c.api_id == api_id))
    await connection.execute(_d.delete().where(_d.c.api_id == api_id))


def _values(key: SigningKeyRecord) -> dict[str, Any]:
    return {
        "id": key.id,
        "workspace_id": key.workspace_id,
        "api_id": key.api_id,
        "algorithm": key.algorithm,
        "public_jwk": key.public_jwk,
        "sealed": key.sealed,
        "key_version": key.key_version,
        "created_at": key.created_at,
        "retired_at": None,
        "publish_until": None,
    }


def _signing_key(row: sa.Row[Any]) -> SigningKeyRecord:
    return SigningKeyRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        api_id=row.api_id,
        algorithm=row.algorithm,
        public_jwk=None if row.public_jwk is None else dict(row.public_jwk),
        sealed=bytes(row.sealed),
        key_version=int(row.key_version),
        created_at=_utc(row.created_at),
        retired_at=None if row.retired_at is None else _utc(row.retired_at),
        publish_until=None if row.publish_until is None else _utc(row.publish_until),
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = ["TokenQueries", "delete_api_tokens"]
