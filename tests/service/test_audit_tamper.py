"""Tampering with the audit tables behind Keystead's back, with plain SQL, is
found by ``Keystead.audit.verify`` and ``keystead audit verify --json`` (exit 1),
which names the kind of break and its seq."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from keystead.cli import app
from keystead.config import Settings
from keystead.core.audit import AuditRecord
from keystead.core.audit import chain as chain_entry
from keystead.core.clock import ManualClock
from keystead.service import Keystead
from keystead.store.sql.audit_chain import entry_row
from keystead.store.sql.tables import audit

Tamper = Callable[[sa.Connection, dict[int, str]], None]


def _sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "mysql://", "mysql+pymysql://", 1
    )


async def _build(settings: Settings) -> None:
    """Seven entries (the workspace's creation first), a checkpoint at seq 7."""
    ks = await Keystead.open(settings=settings, clock=ManualClock(1_750_000_000.0))
    try:
        who = await ks.workspaces.local_operator()
        api = await ks.apis.create(who, name="shop")
        keys = [await ks.keys.create(who, api_id=api.id, name=f"k{n}") for n in range(3)]
        await ks.keys.update(who, keys[0].key.id, {"name": "renamed"})
        await ks.keys.revoke(who, keys[1].key.id)
        await ks.audit.checkpoint(who)
    finally:
        await ks.close()


@pytest.fixture
def chain(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[sa.Engine]:
    asyncio.run(_build(settings))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEYSTEAD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KEYSTEAD_SECRET", settings.secret.get_secret_value())  # type: ignore[union-attr]
    engine = sa.create_engine(_sync_url(settings.database_url))
    try:
        yield engine
    finally:
        engine.dispose()


def _cli_verify() -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["audit", "verify", "--json"])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def _tamper(engine: sa.Engine, change: Tamper) -> list[tuple[str, int]]:
    with engine.begin() as c:
        hashes = {
            int(r.seq): str(r.hash) for r in c.execute(sa.text("SELECT seq, hash FROM ks_audit"))
        }
        change(c, hashes)
    code, report = _cli_verify()
    assert code == 1 and report["ok"] is False
    breaks = report["breaks"]
    assert isinstance(breaks, list)
    return [(b["kind"], b["seq"]) for b in breaks]


def test_a_clean_chain_verifies(chain: sa.Engine) -> None:
    code, report = _cli_verify()
    assert code == 0
    assert report["ok"] is True and report["breaks"] == []
    assert (report["entries"], report["head_seq"], report["checkpoints"]) == (7, 7, 1)


def test_a_modified_field(chain: sa.Engine) -> None:
    def change(c: sa.Connection, _: dict[int, str]) -> None:
        c.execute(sa.text("UPDATE ks_audit SET actor = 'nobody' WHERE seq = 3"))

    assert _tamper(chain, change) == [("modified", 3)]


def test_a_modified_change_record(chain: sa.Engine) -> None:
    def change(c: sa.Connection, _: dict[int, str]) -> None:
        c.execute(sa.text("UPDATE ks_audit SET changes = '{}' WHERE seq = 5"))

    assert _tamper(chain, change) == [("modified", 5)]


def test_a_deleted_row(chain: sa.Engine) -> None:
    def change(c: sa.Connection, _: dict[int, str]) -> None:
        c.execute(sa.text("DELETE FROM ks_audit WHERE seq = 3"))

    assert _tamper(chain, change) == [("deleted", 3)]


def test_an_inserted_forged_row(chain: sa.Engine) -> None:
    """Well formed, hashed and linked, but not appended by Keystead: the head disagrees."""

    def change(c: sa.Connection, hashes: dict[int, str]) -> None:
        row = c.execute(sa.select(audit).where(audit.c.seq == 7)).one()
        forged = AuditRecord(
            id="aud_forged", workspace_id=row.workspace_id, at=row.at, actor="cli",
            action="key.create", target_type="key", target_id="key_forged",
        )  # fmt: skip
        c.execute(audit.insert(), entry_row(chain_entry(forged, 8, hashes[7])))

    assert _tamper(chain, change) == [("inserted", 8)]


def test_an_inserted_row_that_does_not_link(chain: sa.Engine) -> None:
    def change(c: sa.Connection, _: dict[int, str]) -> None:
        c.execute(sa.text("UPDATE ks_audit SET seq = seq + 100 WHERE seq >= 4"))
        c.execute(sa.text("UPDATE ks_audit SET seq = seq - 99 WHERE seq >= 100"))
        c.execute(
            sa.text(
                "INSERT INTO ks_audit (workspace_id, seq, id, at, actor, action, target_type,"
                " target_id, changes, prev_hash, hash) SELECT workspace_id, 4, 'aud_x', at,"
                " actor, action, target_type, target_id, changes, :bogus, :bogus"
                " FROM ks_audit WHERE seq = 3"
            ),
            {"bogus": "f" * 64},
        )
        c.execute(sa.text("UPDATE ks_audit_heads SET seq = 8"))

    found = _tamper(chain, change)
    assert ("modified", 4) in found or ("inserted", 4) in found
    assert {kind for kind, _ in found} <= {"inserted", "modified", "reordered", "truncated"}


def test_swapped_rows(chain: sa.Engine) -> None:
    def change(c: sa.Connection, _: dict[int, str]) -> None:
        rows = {
            int(r.seq): dict(r._mapping)
            for r in c.execute(sa.select(audit).where(audit.c.seq.in_([3, 4])))
        }
        for seq, other in ((3, 4), (4, 3)):
            values = {k: v for k, v in rows[other].items() if k not in ("seq", "workspace_id")}
            c.execute(audit.update().where(audit.c.seq == seq).values(**values))

    assert _tamper(chain, change) == [("reordered", 3), ("reordered", 4)]


def test_a_truncated_tail_after_a_checkpoint(chain: sa.Engine) -> None:
    def change(c: sa.Connection, hashes: dict[int, str]) -> None:
        c.execute(sa.text("DELETE FROM ks_audit WHERE seq >= 5"))
        c.execute(sa.text("UPDATE ks_audit_heads SET seq = 4, hash = :h"), {"h": hashes[4]})

    assert _tamper(chain, change) == [("truncated", 7)]


def test_a_truncated_tail_with_the_head_left(chain: sa.Engine) -> None:
    def change(c: sa.Connection, _: dict[int, str]) -> None:
        c.execute(sa.text("DELETE FROM ks_audit WHERE seq = 7"))

    assert _tamper(chain, change) == [("truncated", 7), ("truncated", 7)]


def test_a_forged_checkpoint(chain: sa.Engine) -> None:
    def change(c: sa.Connection, hashes: dict[int, str]) -> None:
        c.execute(sa.text("DELETE FROM ks_audit WHERE seq >= 5"))
        c.execute(sa.text("UPDATE ks_audit_heads SET seq = 4, hash = :h"), {"h": hashes[4]})
        c.execute(sa.text("UPDATE ks_audit_checkpoints SET seq = 4, hash = :h"), {"h": hashes[4]})

    assert _tamper(chain, change) == [("checkpoint_invalid", 4)]


def test_a_checkpoint_with_a_garbage_signature(chain: sa.Engine) -> None:
    def change(c: sa.Connection, _: dict[int, str]) -> None:
        c.execute(sa.text("UPDATE ks_audit_checkpoints SET signature = 'not base64!'"))

    assert _tamper(chain, change) == [("checkpoint_invalid", 7)]
