"""Which tables a backup holds and which rows of each: every table is in a store's
backup, parents before children, and every table but the scheduler's leases says
which of its rows belong to a workspace (a new table that cannot is named)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from keystead.store.sql.backup_tables import (
    BYTES,
    JSON,
    MACHINE_ONLY,
    SETTINGS_TABLE,
    TIME,
    USAGE_TABLE,
    VALUE,
    WHOLE_IN_WORKSPACE,
    column_kind,
    parts,
    workspace_condition,
)
from keystead.store.sql.tables import keys, metadata


def test_a_store_backup_holds_every_table_parents_first() -> None:
    names = [part.table.name for part in parts(None, with_usage=True)]
    assert sorted(names) == sorted(metadata.tables)
    assert names[0] == SETTINGS_TABLE
    seen: set[str] = set()
    for name in names:
        parents = {fk.column.table.name for fk in metadata.tables[name].foreign_keys}
        assert parents <= seen | {name}, name
        seen.add(name)
    assert all(part.where is None for part in parts(None, with_usage=True))
    lean = [part.table.name for part in parts(None, with_usage=False)]
    assert lean == [name for name in names if name != USAGE_TABLE]


def test_every_table_says_which_rows_are_a_workspaces() -> None:
    scoped = {part.table.name: part.where for part in parts("ws_1", with_usage=True)}
    assert set(scoped) == set(metadata.tables) - MACHINE_ONLY
    whole = {name for name, where in scoped.items() if where is None}
    assert whole == WHOLE_IN_WORKSPACE == {SETTINGS_TABLE, "ks_server_secret_versions"}
    condition = scoped["ks_roles"]
    assert condition is not None
    roles = str(condition.compile(compile_kwargs={"literal_binds": True}))
    assert "ks_apis.workspace_id = 'ws_1'" in roles  # through the API the role hangs off


def test_a_table_with_no_way_to_its_workspace_is_named() -> None:
    orphan = sa.Table("ks_orphan", sa.MetaData(), sa.Column("id", sa.String, primary_key=True))
    with pytest.raises(LookupError, match="ks_orphan"):
        workspace_condition(orphan, "ws_1")


def test_column_kinds() -> None:
    kinds = {name: column_kind(keys.c[name]) for name in ("key_hash", "created_at", "meta", "name")}
    assert kinds == {"key_hash": BYTES, "created_at": TIME, "meta": JSON, "name": VALUE}
