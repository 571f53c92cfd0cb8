"""What a restore refuses, and that a refused or failed restore leaves the target
as it found it (empty, ready for another try): a wrong passphrase, another
master key or server secret, a damaged or cut file, a store that is not empty."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from backup_support import populate, relabel, settings_for, table_counts

from keystead.config import Settings
from keystead.core import archive
from keystead.core.archive import b64, header_bytes, new_data_key
from keystead.core.clock import ManualClock
from keystead.errors import (
    ConfigurationError,
    Conflict,
    IntegrityError,
    KeysteadError,
    ValidationError,
)
from keystead.keyring import open_keyring
from keystead.keyring.file import FileKeyring
from keystead.service import Keystead
from keystead.service.backup import backup, restore
from keystead.store import open_store

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
async def source(tmp_path: Path, server_secret: str, clock: ManualClock) -> Settings:
    """A populated SQLite store with a master key in ``tmp_path``."""
    settings = settings_for(f"sqlite:///{tmp_path / 'source.db'}", server_secret, tmp_path)
    async with await Keystead.open(settings=settings, clock=clock, create_master_key=True) as ks:
        await populate(ks, await ks.workspaces.local_operator(), clock)
    return settings


def _target(database_url: str, source: Settings, **changes: object) -> Settings:
    return source.model_copy(update={"database_url": database_url, **changes})


async def _empty(url: str) -> bool:
    return not any((await table_counts(url)).values())


async def test_a_passphrase_backup_needs_its_passphrase(
    source: Settings, database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "offsite.ksbk"
    taken = await backup(source, file, passphrase=PASSPHRASE)
    assert taken.encryption == "passphrase"
    assert b"sk_live" not in file.read_bytes()
    target = _target(database_url, source)

    with pytest.raises(ValidationError, match="protected by a passphrase"):
        await restore(target, file)
    with pytest.raises(IntegrityError, match="wrong passphrase"):
        await restore(target, file, passphrase="wrong horse")
    assert await _empty(database_url)
    restored = await restore(target, file, passphrase=PASSPHRASE)
    assert restored.tables == taken.tables


async def test_the_values_inside_still_need_the_master_key(
    source: Settings, database_url: str, tmp_path: Path
) -> None:
    """The passphrase opens the archive; the secrets sealed in it open with the
    store's master key only, and a restore without it is refused up front."""
    file = tmp_path / "offsite.ksbk"
    await backup(source, file, passphrase=PASSPHRASE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    FileKeyring.from_url(f"file://{elsewhere / 'keystead-master-key.secret'}").create()
    target = _target(database_url, source, secret_file=elsewhere / "keystead.secret")

    with pytest.raises(ConfigurationError, match="does not match the one this database"):
        await restore(target, file, passphrase=PASSPHRASE)
    assert await _empty(database_url)


async def test_a_master_key_backup_opens_with_that_master_key_only(
    source: Settings, database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "store.ksbk"
    await backup(source, file)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = _target(database_url, source, secret_file=elsewhere / "keystead.secret")
    with pytest.raises(ConfigurationError, match="no master key at"):
        await restore(target, file)
    FileKeyring.from_url(f"file://{elsewhere / 'keystead-master-key.secret'}").create()
    with pytest.raises(IntegrityError, match="does not open this backup"):
        await restore(target, file)
    assert await _empty(database_url)


async def test_another_server_secret_is_refused(
    source: Settings, database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "store.ksbk"
    await backup(source, file)
    target = settings_for(database_url, "ab" * 32, tmp_path)
    with pytest.raises(ConfigurationError, match="server secret does not match"):
        await restore(target, file)
    assert await _empty(database_url)


async def test_a_damaged_file_fails_and_the_target_rolls_back_whole(
    source: Settings, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks, so rows of the first tables are inserted before the damage
    at the end is read: the transaction rolls them back."""
    monkeypatch.setattr(archive, "CHUNK_BYTES", 256)
    file = tmp_path / "store.ksbk"
    taken = await backup(source, file, with_usage=True)
    good = file.read_bytes()
    target = _target(database_url, source)

    damaged = bytearray(good)
    damaged[-40] ^= 0x01
    file.write_bytes(bytes(damaged))
    inserted: list[int] = []
    with pytest.raises(IntegrityError, match="damaged or was altered"):
        await restore(target, file, progress=lambda _table, rows: inserted.append(rows))
    assert sum(inserted) > 0  # rows went in before the damage was read...
    assert await _empty(database_url)  # ...and were rolled back

    for cut in (len(good) - 7, len(good) // 2):
        file.write_bytes(good[:cut])
        with pytest.raises(IntegrityError, match="truncated"):
            await restore(target, file)
        assert await _empty(database_url)

    header = bytearray(good)
    at = good.index(b'"created_at":"') + len('"created_at":"')
    header[at] = ord("1") if header[at] != ord("1") else ord("2")
    file.write_bytes(bytes(header))
    with pytest.raises(IntegrityError, match="damaged or was altered"):
        await restore(target, file)
    assert await _empty(database_url)

    file.write_bytes(good)
    assert (await restore(target, file)).tables == taken.tables


async def test_a_store_that_is_not_empty_is_refused(
    source: Settings, database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "store.ksbk"
    await backup(source, file)
    target = _target(database_url, source)
    await restore(target, file)
    before = await table_counts(database_url)
    with pytest.raises(Conflict, match="not empty"):
        await restore(target, file)
    assert await table_counts(database_url) == before


async def test_an_empty_store_of_a_newer_schema_is_refused(
    source: Settings, tmp_path: Path
) -> None:
    """Its migrations past the backup's revision would not run on the restored rows."""
    await backup(source, tmp_path / "new.ksbk")
    relabel(source, tmp_path / "new.ksbk", tmp_path / "old.ksbk", "0018")
    target = _target(f"sqlite:///{tmp_path / 'target.db'}", source)
    store = open_store(target.database_url)
    await store.migrate()
    await store.close()
    with pytest.raises(Conflict, match="newer than the backup's"):
        await restore(target, tmp_path / "old.ksbk")
    assert await _empty(target.database_url)


async def test_what_is_not_a_backup(source: Settings, tmp_path: Path) -> None:
    target = _target(f"sqlite:///{tmp_path / 'target.db'}", source)
    with pytest.raises(ValidationError, match="cannot read"):
        await restore(target, tmp_path / "missing.ksbk")
    shutil.copy(source.database_url.removeprefix("sqlite:///"), tmp_path / "a.db")
    with pytest.raises(IntegrityError, match="not a Keystead backup"):
        await restore(target, tmp_path / "a.db")
    (tmp_path / "short").write_bytes(b"KEYST")
    with pytest.raises(IntegrityError, match="not a Keystead backup"):
        await restore(target, tmp_path / "short")
    assert not (tmp_path / "target.db").exists() or await _empty(target.database_url)
    wrapped = open_keyring(source.master_key_location()).wrap(new_data_key())
    encryption = {"mode": "master-key", "key_version": wrapped[0], "wrapped_key": b64(wrapped[1])}
    (tmp_path / "bare").write_bytes(header_bytes({"format": 1, "encryption": encryption}))
    with pytest.raises(IntegrityError, match="its header lacks a field"):
        await restore(target, tmp_path / "bare")


async def test_any_changed_byte_is_refused_cleanly(source: Settings, tmp_path: Path) -> None:
    """A byte changed anywhere (header, wrapped key, chunks) is one of Keystead's
    errors, never another exception, and the target stays empty."""
    file = tmp_path / "store.ksbk"
    await backup(source, file)
    good = file.read_bytes()
    target = _target(f"sqlite:///{tmp_path / 'target.db'}", source)
    shuffle = random.Random(20)
    for at in sorted({*shuffle.sample(range(len(good)), 40), 0, 17, 20, len(good) - 1}):
        changed = bytearray(good)
        changed[at] ^= 1 << shuffle.randrange(8)
        file.write_bytes(bytes(changed))
        with pytest.raises(KeysteadError):
            await restore(target, file)
    assert await _empty(target.database_url)
