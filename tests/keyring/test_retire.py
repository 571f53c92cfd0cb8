"""Retiring a master-key version in each keyring: dropped from the ``file://``
file, refused by the read-only ``env://``, destroyed on a PKCS#11 token; and a
rewrap across a rotation of each writable keyring, through the service."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.core.envelope import rewrap, seal, secret_aad, unseal
from keystead.errors import ConfigurationError, IntegrityError
from keystead.keyring.env import EnvKeyring
from keystead.keyring.file import FileKeyring
from keystead.service import Keystead
from softhsm import Hsm, needs_softhsm2, throwaway_hsm

HERE = secret_aad("ws_1", "secret", "app", 1)


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hsm]:
    yield from throwaway_hsm(tmp_path, monkeypatch)


def test_the_file_keyring_drops_a_retired_version_and_stays_private(tmp_path: Path) -> None:
    keyring = FileKeyring(tmp_path / "master.secret")
    keyring.create()
    old = seal(b"value", HERE, keyring)
    keyring.rotate()
    keyring.rotate()
    moved = rewrap(old, keyring)
    keys_before = {e["version"]: e["key"] for e in json.loads(keyring.path.read_text())["keys"]}

    keyring.retire(1)

    doc = json.loads(keyring.path.read_text())
    assert {e["version"]: e["key"] for e in doc["keys"]} == {
        2: keys_before[2],
        3: keys_before[3],
    }
    assert stat.S_IMODE(keyring.path.stat().st_mode) == 0o600
    assert (keyring.versions(), keyring.current_version) == ([2, 3], 3)
    assert unseal(moved, HERE, keyring) == b"value"
    with pytest.raises(IntegrityError, match="version 1 is not in the keyring"):
        unseal(old, HERE, keyring)
    with pytest.raises(ConfigurationError, match="current"):
        keyring.retire(3)
    with pytest.raises(ConfigurationError, match="no master key version 1"):
        keyring.retire(1)
    assert not list(tmp_path.glob(".*tmp"))


def test_the_env_keyring_cannot_retire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KS_TEST_MASTER", "1:" + "A" * 43 + "=,2:" + "B" * 43 + "=")
    keyring = EnvKeyring("KS_TEST_MASTER")

    with pytest.raises(ConfigurationError, match="read-only") as refused:
        keyring.retire(1)

    assert "remove '1:...' from KS_TEST_MASTER" in refused.value.detail
    assert keyring.versions() == [1, 2]


@needs_softhsm2
async def test_rewrap_and_retire_with_the_master_key_on_a_token(
    hsm: Hsm, settings: Settings
) -> None:
    on_token = settings.model_copy(update={"master_key_url": hsm.url()})
    ks = await Keystead.open(settings=on_token, create_master_key=True)
    try:
        root = await ks.workspaces.local_operator()
        await ks.secrets.put(root, "secret", "app", {"value": "on the token"})
        await ks.master_keys.rotate()
        await ks.secrets.put(root, "secret", "other", {"value": "under v2"})
        done = await ks.master_keys.rewrap()
        assert done.rewrapped["secret_version"] == 1 and done.check_rewrapped
        keyring = hsm.keyring()
        assert len(keyring.key_refs(1)) == 1

        status = await ks.master_keys.retire(1)

        assert (status.versions, status.current_version) == ([2], 2)
        assert keyring.key_refs(1) == []
        assert (await ks.secrets.get(root, "secret", "app")).data == {"value": "on the token"}
    finally:
        await ks.close()
    reopened = await Keystead.open(settings=on_token)
    try:
        assert (await reopened.secrets.get(root, "secret", "other")).data == {"value": "under v2"}
        with pytest.raises(ConfigurationError, match="current"):
            hsm.keyring().retire(2)
    finally:
        await reopened.close()


async def test_rewrap_across_a_rotation_of_the_same_file(settings: Settings) -> None:
    """Another process rotates the file; this one's rewrap moves everything to the new version."""
    ks = await Keystead.open(settings=settings, create_master_key=True)
    try:
        root = await ks.workspaces.local_operator()
        for n in range(5):
            await ks.secrets.put(root, "secret", f"app/{n}", {"value": str(n)})
        path = settings.secret_file.parent / "keystead-master-key.secret"
        assert FileKeyring(path).rotate() == 2  # as 'keystead master-key rotate' elsewhere
        os.utime(path)

        done = await ks.master_keys.rewrap(batch=2)

        assert (done.current_version, done.rewrapped["secret_version"]) == (2, 5)
        assert await ks.master_keys.references() == {2: 5}
        for n in range(5):
            assert (await ks.secrets.get(root, "secret", f"app/{n}")).data == {"value": str(n)}
    finally:
        await ks.close()
