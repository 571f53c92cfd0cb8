"""The store's master key: recorded on first use, required and checked ever after."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.core.envelope import seal, secret_aad, unseal
from keystead.errors import ConfigurationError
from keystead.keyring.file import FileKeyring
from keystead.service import Keystead
from keystead.service.master_keys import CHECK_SETTING

HERE = secret_aad("ws_1", "secret", "app", 1)


def _key_file(settings: Settings) -> Path:
    return settings.secret_file.parent / "keystead-master-key.secret"


async def _check_of(settings: Settings) -> str | None:
    ks = await Keystead.open(settings=settings)
    try:
        return await ks.store.get_setting(CHECK_SETTING)
    finally:
        await ks.close()


async def test_init_creates_a_private_key_and_the_store_records_it(settings: Settings) -> None:
    ks = await Keystead.open(settings=settings, create_master_key=True)
    try:
        assert ks.master_keys.created
        sealed = seal(b"value", HERE, ks.keyring)
        status = await ks.master_keys.status()
    finally:
        await ks.close()

    path = _key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (status.present, status.versions, status.checked) == (True, [1], True)
    reopened = await Keystead.open(settings=settings)
    try:
        assert not reopened.master_keys.created
        assert unseal(sealed, HERE, reopened.keyring) == b"value"
    finally:
        await reopened.close()


async def test_a_store_without_a_master_key_opens_and_says_so_when_one_is_needed(
    settings: Settings,
) -> None:
    ks = await Keystead.open(settings=settings)
    try:
        status = await ks.master_keys.status()
        with pytest.raises(ConfigurationError, match=r"no master key at .* 'keystead init'"):
            _ = ks.keyring
    finally:
        await ks.close()

    assert not _key_file(settings).exists()  # only init creates one
    assert (status.present, status.checked, status.current_version) == (False, False, None)
    assert await _check_of(settings) is None


async def test_an_older_store_records_the_check_once_a_key_is_there(settings: Settings) -> None:
    assert await _check_of(settings) is None  # a store from before master keys

    ks = await Keystead.open(settings=settings, create_master_key=True)
    await ks.close()

    assert await _check_of(settings) is not None


async def test_another_master_key_is_refused(settings: Settings) -> None:
    await (await Keystead.open(settings=settings, create_master_key=True)).close()
    path = _key_file(settings)
    path.unlink()
    FileKeyring(path).create()  # a new, different key where the old one was

    with pytest.raises(ConfigurationError, match="does not match the one this database"):
        await Keystead.open(settings=settings)
    with pytest.raises(ConfigurationError, match="does not match"):
        await Keystead.preflight(settings)
    with pytest.raises(ConfigurationError, match="does not match"):
        await Keystead.open(settings=settings, create_master_key=True)


async def test_a_missing_master_key_is_refused_and_never_recreated(settings: Settings) -> None:
    await (await Keystead.open(settings=settings, create_master_key=True)).close()
    _key_file(settings).unlink()

    with pytest.raises(ConfigurationError, match=r"initialised with a master key.*none at"):
        await Keystead.open(settings=settings)
    with pytest.raises(ConfigurationError, match="none at"):
        await Keystead.open(settings=settings, create_master_key=True)
    assert not _key_file(settings).exists()


async def test_rotation_keeps_the_store_open_and_old_items_readable(settings: Settings) -> None:
    ks = await Keystead.open(settings=settings, create_master_key=True)
    try:
        old = seal(b"value", HERE, ks.keyring)
        status = await ks.master_keys.rotate()
        new = seal(b"value", HERE, ks.keyring)
    finally:
        await ks.close()

    assert (status.current_version, status.versions, status.check_version) == (2, [1, 2], 1)
    assert (old.key_version, new.key_version) == (1, 2)
    reopened = await Keystead.open(settings=settings)
    try:
        assert unseal(old, HERE, reopened.keyring) == b"value"
        assert unseal(new, HERE, reopened.keyring) == b"value"
    finally:
        await reopened.close()


async def test_an_env_master_key_is_checked_like_a_file(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = settings.model_copy(update={"master_key_url": "env://KEYSTEAD_TEST_MK"})
    monkeypatch.setenv("KEYSTEAD_TEST_MK", base64.b64encode(os.urandom(32)).decode())
    ks = await Keystead.open(settings=from_env)
    try:
        assert (await ks.master_keys.status()).checked
        with pytest.raises(ConfigurationError, match="read-only"):
            await ks.master_keys.rotate()
    finally:
        await ks.close()

    monkeypatch.setenv("KEYSTEAD_TEST_MK", base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(ConfigurationError, match="env://KEYSTEAD_TEST_MK does not match"):
        await Keystead.open(settings=from_env)


async def test_an_unknown_master_key_scheme_stops_the_open(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="unknown master key URL scheme"):
        await Keystead.open(settings=settings.model_copy(update={"master_key_url": "kms://x"}))


async def test_neither_the_store_nor_the_logs_hold_master_key_material(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ks = await Keystead.open(settings=settings, create_master_key=True)
    try:
        await ks.master_keys.rotate()
        check = await ks.store.get_setting(CHECK_SETTING)
    finally:
        await ks.close()

    assert check is not None
    for entry in json.loads(_key_file(settings).read_text())["keys"]:
        raw = base64.b64decode(entry["key"])
        assert entry["key"] not in check
        assert base64.urlsafe_b64encode(raw).decode().rstrip("=") not in check
        assert entry["key"] not in caplog.text and raw.hex() not in caplog.text


async def test_init_cannot_create_an_env_master_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEYSTEAD_TEST_MK", raising=False)
    from_env = settings.model_copy(update={"master_key_url": "env://KEYSTEAD_TEST_MK"})

    with pytest.raises(ConfigurationError, match="read-only: put a base64 256-bit key"):
        await Keystead.open(settings=from_env, create_master_key=True)
