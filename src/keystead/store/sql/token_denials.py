"""Writing token denials inside a transaction: a second denial of the same API,
kind and subject replaces the first with a new seq, its times moved forward."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.store.sql.tables import token_denials
from keystead.store.tokens import DenialRecord

_t = token_denials


async def write_denials(
    connection: AsyncConnection, denials: Sequence[DenialRecord]
) -> list[DenialRecord]:
    stored = []
    for denial in denials:
        same = (
            (_t.c.api_id == denial.api_id)
            & (_t.c.kind == denial.kind)
            & (_t.c.subject == denial.subject)
        )
        old = (
            await connection.execute(
                sa.delete(_t).where(same).returning(_t.c.not_before, _t.c.expires_at)
            )
        ).first()
        if old is not None:
            denial = replace(
                denial,
                not_before=max(denial.not_before, float(old.not_before)),
                expires_at=max(denial.expires_at, float(old.expires_at)),
            )
        seq = (
            await connection.execute(
                sa.insert(_t)
                .values(
                    workspace_id=denial.workspace_id,
                    api_id=denial.api_id,
                    kind=denial.kind,
                    subject=denial.subject,
                    aud=denial.aud,
                    not_before=denial.not_before,
                    expires_at=denial.expires_at,
                    created_at=datetime.fromtimestamp(denial.not_before, UTC),
                )
                .returning(_t.c.seq)
            )
        ).scalar_one()
        stored.append(replace(denial, seq=int(seq)))
    return stored


def denial(row: sa.Row[Any]) -> DenialRecord:
    return DenialRecord(
        workspace_id=str(row.workspace_id),
        api_id=str(row.api_id),
        kind=str(row.kind),
        subject=str(row.subject),
        not_before=float(row.not_before),
        expires_at=float(row.expires_at),
        aud=None if row.aud is None else str(row.aud),
        seq=int(row.seq),
    )


__all__ = ["denial", "write_denials"]
