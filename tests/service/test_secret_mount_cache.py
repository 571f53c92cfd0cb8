"""Mounts remembered per service (``SecretMounts.known``): two services over one
database, as two nodes are; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.errors import CheckAndSetMismatch, NotFound, ValidationError
from keystead.service import Keystead


@pytest.fixture
async def nodes(settings: Settings, clock: ManualClock) -> AsyncIterator[tuple[Keystead, Keystead]]:
    one = await Keystead.open(settings=settings, clock=clock, create_master_key=True)
    two = await Keystead.open(settings=settings, clock=clock)
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


async def test_a_mount_enabled_on_another_node_is_seen(nodes: tuple[Keystead, Keystead]) -> None:
    one, two = nodes
    who = await one.workspaces.local_operator()
    with pytest.raises(NotFound):
        await two.secrets.get(who, "team", "db")  # a missing mount is not remembered

    await one.secrets.enable_mount(who, "team")
    await one.secrets.put(who, "team", "db", {"password": "pw"})
    await one.secrets.enable_mount(who, "crypto", kind="transit")

    assert (await two.secrets.get(who, "team", "db")).data == {"password": "pw"}
    with pytest.raises(ValidationError, match="transit mount"):
        await two.secrets.get(who, "crypto", "db")


async def test_a_config_change_holds_at_once_for_writes_on_both_nodes(
    nodes: tuple[Keystead, Keystead],
) -> None:
    one, two = nodes
    who = await one.workspaces.local_operator()
    await one.secrets.enable_mount(who, "team")
    await two.secrets.put(who, "team", "db", {"password": "pw-1"})
    await two.secrets.get(who, "team", "db")  # the mount is now remembered on both

    await two.secrets.write_config(who, "team", cas_required=True)
    with pytest.raises(CheckAndSetMismatch):
        await two.secrets.put(who, "team", "db", {"password": "pw-2"})
    assert (await two.secrets.read_config(who, "team")).config.cas_required

    await one.secrets.write_config(who, "team", cas_required=False, max_versions=1)
    written = await two.secrets.put(who, "team", "db", {"password": "pw-2"})
    assert [v.version for v in written.metadata.versions] == [2]  # max_versions=1 applied
    assert not (await two.secrets.read_config(who, "team")).config.cas_required
