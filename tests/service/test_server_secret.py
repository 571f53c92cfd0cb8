"""Rotating the server secret: keys hashed under older versions keep verifying and
move to the newest; retirement; several nodes on one store. On SQLite and
PostgreSQL (the ``vault`` fixture has a master key, which rotation needs)."""

from __future__ import annotations

import asyncio

import pytest

from keystead.config import Settings
from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code, Key
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.service import Keystead
from keystead.service.server_secret import SecretStatus


def _by_version(status: SecretStatus) -> dict[int, tuple[str, int, int]]:
    return {v.version: (v.state, v.keys, v.root_keys) for v in status.versions}


async def _one_key(ks: Keystead, admin: Principal) -> str:
    api = await ks.apis.create(admin, name=f"api{len(await ks.apis.list(admin))}")
    return (await ks.keys.create(admin, api_id=api.id)).plaintext


@pytest.fixture
async def admin(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


async def test_an_old_key_verifies_and_moves_to_the_newest_version(
    vault: Keystead, admin: Principal
) -> None:
    old = await _one_key(vault, admin)
    status = await vault.server_secret.rotate(admin, settle_s=0)
    assert status.newest == 2
    assert _by_version(status) == {1: ("older", 1, 0), 2: ("newest", 0, 0)}
    assert (await vault.verify(old)).valid
    assert _by_version(await vault.server_secret.status(admin)) == {
        1: ("older", 0, 0),
        2: ("newest", 1, 0),
    }
    # moved: found under the newest version at once, even with nothing cached
    vault._ctx.flush_caches()
    assert await vault.store.find_key(vault._ctx.hasher.hash(old)) is not None
    assert (await vault.verify(old)).valid
    new = await _one_key(vault, admin)
    assert (await vault.verify(new)).valid
    assert _by_version(await vault.server_secret.status(admin))[2] == ("newest", 2, 0)


async def test_a_root_key_moves_too_and_a_session_survives_rotation(
    vault: Keystead, admin: Principal
) -> None:
    created = await vault.root_keys.create(admin, name="ops")
    token, _ = await vault.web_sessions.sign_in(created.plaintext, ip=None, user_agent=None)
    await vault.server_secret.rotate(admin, settle_s=0)
    principal = await vault.root_keys.authenticate(created.plaintext)
    assert principal.actor == f"root_key:{created.root_key.id}"
    assert _by_version(await vault.server_secret.status(admin))[2] == ("newest", 0, 1)
    assert await vault.web_sessions.resume(token, area="ui") is not None


async def test_retire_is_refused_while_keys_use_a_version_unless_forced(
    vault: Keystead, admin: Principal, clock: ManualClock
) -> None:
    old = await _one_key(vault, admin)
    await vault.root_keys.create(admin, name="ops")
    await vault.server_secret.rotate(admin, settle_s=0)
    with pytest.raises(Conflict, match="1 keys and 1 root keys still use"):
        await vault.server_secret.retire(admin, 1)
    with pytest.raises(Conflict, match="newest"):
        await vault.server_secret.retire(admin, 2)
    with pytest.raises(NotFound):
        await vault.server_secret.retire(admin, 7)
    status = await vault.server_secret.retire(admin, 1, force=True)
    assert _by_version(status)[1] == ("retired", 1, 1)
    assert (await vault.verify(old)).code is Code.NOT_FOUND  # cut off, as warned
    with pytest.raises(Conflict, match="retired already"):
        await vault.server_secret.retire(admin, 1, force=True)
    entries = (await vault.audit.list(admin)).items
    assert {"server_secret.rotate", "server_secret.retire"} <= {e.record.action for e in entries}


async def test_a_version_retires_by_itself_once_its_last_key_moved(
    vault: Keystead, admin: Principal, clock: ManualClock
) -> None:
    old = await _one_key(vault, admin)
    await vault.server_secret.rotate(admin, settle_s=0)
    clock.advance(2 * vault.settings.secret_refresh_s + 1)
    assert await vault.server_secret.retire_unused() == []  # a key still uses version 1
    assert (await vault.verify(old)).valid
    assert await vault.server_secret.retire_unused() == [1]
    assert (await vault.verify(old)).valid


async def test_a_version_nobody_uses_is_retired_by_upkeep_after_the_settle_time(
    vault: Keystead, admin: Principal, clock: ManualClock
) -> None:
    await vault.server_secret.rotate(admin, settle_s=0)
    with pytest.raises(Conflict, match="may still hash new keys"):
        await vault.server_secret.retire(admin, 1)
    assert await vault.server_secret.retire_unused() == []
    clock.advance(2 * vault.settings.secret_refresh_s + 1)
    assert await vault.server_secret.retire_unused() == [1]
    assert _by_version(await vault.server_secret.status(admin))[1][0] == "retired"


async def test_a_malformed_key_is_refused_before_any_lookup(
    vault: Keystead, admin: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _one_key(vault, admin)
    await vault.server_secret.rotate(admin, settle_s=0)
    lookups: list[bytes] = []
    real = vault.store.find_key

    async def counted(digest: bytes) -> Key | None:
        lookups.append(digest)
        return await real(digest)

    monkeypatch.setattr(vault.store, "find_key", counted)
    for garbage in ("nope", "acme_" + "x" * 30, "", "k" * 5000):
        assert (await vault.verify(garbage)).code is Code.MALFORMED
    assert lookups == []
    unknown = keyformat.generate("acme")  # well-formed, never issued
    assert (await vault.verify(unknown)).code is Code.NOT_FOUND
    assert len(lookups) == 2  # the newest version, then the one older version


async def test_two_nodes_one_rotates_the_other_verifies_once_it_knows_the_version(
    settings: Settings, clock: ManualClock
) -> None:
    # no invalidation channel: the second node learns versions by reading the store
    # (its periodic refresh, called here by hand)
    apart = settings.model_copy(update={"invalidation_url": "none"})
    first = await Keystead.open(settings=apart, clock=clock, create_master_key=True)
    second = await Keystead.open(settings=apart, clock=clock)
    try:
        admin = await first.workspaces.local_operator()
        old = await _one_key(first, admin)
        # a pending version: both nodes learn it before any key is hashed under it
        await first.server_secret.rotate(admin, settle_s=10)
        await second.server_secret.refresh()
        before = await _one_key(first, admin)
        assert _by_version(await first.server_secret.status(admin))[2] == ("pending", 0, 0)
        clock.advance(10)
        for node in (first, second):
            node.server_secret.apply()  # what each node's timer does at activates_at
        new = await _one_key(first, admin)
        for key in (old, before, new):
            assert (await second.verify(key)).valid
        assert _by_version(await first.server_secret.status(admin))[2][1] == 3
        # a rotation with no settle time: the other node verifies its keys once it
        # has read the version (its next refresh, or the invalidation channel)
        await first.server_secret.rotate(admin, settle_s=0)
        newer = await _one_key(first, admin)
        assert (await second.verify(newer)).code is Code.NOT_FOUND
        await second.server_secret.refresh()
        assert (await second.verify(newer)).valid
        assert (await second.verify(old)).valid
        assert _by_version(await first.server_secret.status(admin))[3][1] == 2
    finally:
        await first.close()
        await second.close()


async def test_bad_input_and_refusals(
    vault: Keystead, admin: Principal, settings: Settings, clock: ManualClock
) -> None:
    for settle in (-1.0, 1e9):
        with pytest.raises(ValidationError):
            await vault.server_secret.rotate(admin, settle_s=settle)
    await vault.server_secret.rotate(admin, settle_s=100)
    with pytest.raises(Conflict, match="pending"):
        await vault.server_secret.rotate(admin, settle_s=0)
    with pytest.raises(Conflict, match="newest or pending"):
        await vault.server_secret.retire(admin, 2)
    clock.advance(100)
    await vault.server_secret.rotate(admin, settle_s=0)
    with pytest.raises(Conflict, match="the most allowed"):
        await vault.server_secret.rotate(admin, settle_s=0)
    narrowed = Principal(
        admin.workspace_id, "root_key:rk_x", admin.grants, api_ids=frozenset({"api_x"})
    )
    with pytest.raises(Forbidden):
        await vault.server_secret.status(narrowed)


async def test_rotation_needs_a_master_key(keystead: Keystead) -> None:
    admin = await keystead.workspaces.local_operator()
    with pytest.raises(Conflict, match="needs a master key"):
        await keystead.server_secret.rotate(admin, settle_s=0)


async def test_a_master_key_rewrap_and_retirement_keep_the_versions_readable(
    vault: Keystead, admin: Principal, settings: Settings, clock: ManualClock
) -> None:
    old = await _one_key(vault, admin)
    await vault.server_secret.rotate(admin, settle_s=0)
    new = await _one_key(vault, admin)
    await vault.master_keys.rotate()
    done = await vault.master_keys.rewrap()
    assert done.rewrapped["server_secret"] == 1
    await vault.master_keys.retire(1)
    fresh = await Keystead.open(settings=settings, clock=clock)  # unseals version 2 anew
    try:
        assert (await fresh.verify(new)).valid
        assert (await fresh.verify(old)).valid
    finally:
        await fresh.close()


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_the_invalidation_channel_tells_the_other_node_of_a_new_version(
    settings: Settings,
) -> None:
    """No refresh by hand: the other node hears of the version over NOTIFY (and
    would within KEYSTEAD_SECRET_REFRESH_S without it, set high here)."""
    tuned = settings.model_copy(update={"invalidation_url": "", "secret_refresh_s": 3600})
    first = await Keystead.open(settings=tuned, create_master_key=True)
    second = await Keystead.open(settings=tuned)
    try:
        assert first.invalidation is not None and second.invalidation is not None
        admin = await first.workspaces.local_operator()
        await first.server_secret.rotate(admin, settle_s=0)
        new = await _one_key(first, admin)
        for _ in range(200):  # the message takes milliseconds; give up after 10 s
            if second._ctx.hasher.version == 2:
                break
            await asyncio.sleep(0.05)
        assert second._ctx.hasher.version == 2
        assert (await second.verify(new)).valid
        await first.server_secret.retire(admin, 1, force=True)
        for _ in range(200):
            if not second._ctx.older_hashers:
                break
            await asyncio.sleep(0.05)
        assert second._ctx.older_hashers == ()
    finally:
        await first.close()
        await second.close()
