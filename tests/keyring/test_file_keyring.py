"""``file://``: a private JSON file of versioned keys that survives rotation and re-opening."""

from __future__ import annotations

import base64
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from keystead.core.envelope import Sealed, rewrap, seal, secret_aad, unseal
from keystead.errors import ConfigurationError, IntegrityError
from keystead.keyring import open_keyring
from keystead.keyring.file import RECHECK_S, FileKeyring

HERE = secret_aad("ws_1", "secret", "app", 1)


def _keyring(tmp_path: Path) -> FileKeyring:
    keyring = open_keyring(f"file://{tmp_path / 'master.secret'}")
    assert isinstance(keyring, FileKeyring)
    return keyring


def test_create_writes_a_0600_file_with_version_1(tmp_path: Path) -> None:
    keyring = _keyring(tmp_path)
    assert not keyring.exists()

    keyring.create()

    assert keyring.exists()
    assert stat.S_IMODE(keyring.path.stat().st_mode) == 0o600
    doc = json.loads(keyring.path.read_text())
    assert doc["format"] == "keystead-master-keys"
    assert doc["format_version"] == 1
    assert [k["version"] for k in doc["keys"]] == [1]
    assert len(base64.b64decode(doc["keys"][0]["key"])) == 32
    assert (keyring.current_version, keyring.versions()) == (1, [1])


def test_create_leaves_an_existing_file_alone(tmp_path: Path) -> None:
    keyring = _keyring(tmp_path)
    keyring.create()
    before = keyring.path.read_bytes()

    keyring.create()

    assert keyring.path.read_bytes() == before


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    keyring = _keyring(tmp_path)
    keyring.create()
    keyring.path.chmod(0o644)

    with pytest.raises(ConfigurationError, match=r"readable by other users.*chmod 600"):
        keyring.wrap(os.urandom(32))


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no master key at .*keystead init"):
        _ = _keyring(tmp_path).current_version


def test_rotation_survives_reopening_and_old_versions_still_unwrap(tmp_path: Path) -> None:
    keyring = _keyring(tmp_path)
    keyring.create()
    old = seal(b"value", HERE, keyring)

    assert keyring.rotate() == 2
    assert stat.S_IMODE(keyring.path.stat().st_mode) == 0o600
    reopened = _keyring(tmp_path)

    assert (reopened.current_version, reopened.versions()) == (2, [1, 2])
    assert unseal(old, HERE, reopened) == b"value"
    new = rewrap(old, reopened)
    assert new.key_version == 2
    assert unseal(new, HERE, _keyring(tmp_path)) == b"value"
    assert list(tmp_path.iterdir()) == [keyring.path]  # no temporary file left


def test_another_process_rotation_is_seen_on_next_use(tmp_path: Path) -> None:
    serving = _keyring(tmp_path)
    serving.create()
    assert serving.current_version == 1

    _keyring(tmp_path).rotate()  # e.g. `keystead master-key rotate`

    assert serving.current_version == 2
    assert serving.wrap(os.urandom(32))[0] == 2


def test_an_unwrap_of_a_version_made_elsewhere_reads_the_file_at_once(tmp_path: Path) -> None:
    serving = _keyring(tmp_path)
    serving.create()
    assert serving.unwrap(*serving.wrap(b"k" * 32)) == b"k" * 32  # file checked just now

    elsewhere = _keyring(tmp_path)
    assert elsewhere.rotate() == 2
    sealed = seal(b"value", HERE, elsewhere)

    assert sealed.key_version == 2
    assert unseal(sealed, HERE, serving) == b"value"


def test_reads_trust_the_file_for_the_recheck_bound_then_notice_its_removal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr("keystead.keyring.file.time.monotonic", lambda: now[0])
    serving = _keyring(tmp_path)
    serving.create()
    sealed = seal(b"value", HERE, serving)
    serving.path.unlink()

    assert serving.exists()  # within the bound: no stat
    assert unseal(sealed, HERE, serving) == b"value"
    now[0] += RECHECK_S
    assert not serving.exists()
    with pytest.raises(ConfigurationError, match="no master key at"):
        unseal(sealed, HERE, serving)
    with pytest.raises(ConfigurationError, match="no master key at"):
        serving.wrap(b"k" * 32)  # a wrap always checks the file


def test_another_file_is_the_wrong_key(tmp_path: Path) -> None:
    keyring = _keyring(tmp_path)
    keyring.create()
    sealed = seal(b"value", HERE, keyring)
    other = open_keyring(f"file://{tmp_path / 'other.secret'}")
    other.create()

    with pytest.raises(IntegrityError):
        unseal(sealed, HERE, other)


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"format": "something-else", "format_version": 1, "keys": []}',
        b'{"format": "keystead-master-keys", "format_version": 9, "keys": []}',
        b'{"format": "keystead-master-keys", "format_version": 1, "keys": []}',
        b'{"format": "keystead-master-keys", "format_version": 1,'
        b' "keys": [{"version": 1, "key": "c2hvcnQ="}]}',
        b'{"format": "keystead-master-keys", "format_version": 1,'
        b' "keys": [{"version": "1", "key": "x"}]}',
    ],
    ids=["not-json", "not-object", "format", "format-version", "no-keys", "short-key", "version"],
)
def test_a_malformed_file_is_a_configuration_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "master.secret"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)

    with pytest.raises(ConfigurationError, match=str(path)):
        _ = _keyring(tmp_path).versions()


def test_the_repr_and_errors_name_the_file_never_a_key(tmp_path: Path) -> None:
    keyring = _keyring(tmp_path)
    keyring.create()
    keys = [k["key"] for k in json.loads(keyring.path.read_text())["keys"]]
    sealed = seal(b"value", HERE, keyring)
    shown = repr(keyring)
    try:
        keyring.unwrap(1, bytes(40))
    except IntegrityError as exc:
        shown += str(exc)
    try:
        unseal(Sealed(1, sealed.wrapped_key, sealed.nonce, sealed.ciphertext), b"x", keyring)
    except IntegrityError as exc:
        shown += str(exc)

    assert str(keyring.path) in repr(keyring)
    for key in keys:
        assert key not in shown
        assert base64.b64decode(key).hex() not in shown


def test_concurrent_rotations_each_add_their_own_version(tmp_path: Path) -> None:
    _keyring(tmp_path).create()
    rotators = [_keyring(tmp_path) for _ in range(8)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = sorted(pool.map(lambda keyring: keyring.rotate(), rotators))

    assert made == list(range(2, 10))
    assert _keyring(tmp_path).versions() == list(range(1, 10))
