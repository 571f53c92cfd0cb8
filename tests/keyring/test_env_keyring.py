"""``env://NAME``: keys from one environment variable, read-only."""

from __future__ import annotations

import base64
import os

import pytest

from keystead.core.envelope import seal, secret_aad, unseal
from keystead.errors import ConfigurationError, IntegrityError
from keystead.keyring import open_keyring
from keystead.keyring.env import EnvKeyring

HERE = secret_aad("ws_1", "secret", "app", 1)
NAME = "KEYSTEAD_TEST_MASTER_KEY"


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_one_bare_key_is_version_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, _key())
    keyring = open_keyring(f"env://{NAME}")

    assert isinstance(keyring, EnvKeyring)
    assert keyring.exists()
    assert (keyring.current_version, keyring.versions()) == (1, [1])
    assert unseal(seal(b"v", HERE, keyring), HERE, keyring) == b"v"


def test_versioned_pairs_make_the_highest_current(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _key(), _key()
    monkeypatch.setenv(NAME, f"1:{first}")
    keyring = open_keyring(f"env://{NAME}")
    old = seal(b"v", HERE, keyring)

    monkeypatch.setenv(NAME, f" 1:{first} , 3:{second} ")

    assert (keyring.current_version, keyring.versions()) == (3, [1, 3])
    assert unseal(old, HERE, keyring) == b"v"
    assert seal(b"v", HERE, keyring).key_version == 3


def test_another_key_in_the_variable_is_the_wrong_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, _key())
    keyring = open_keyring(f"env://{NAME}")
    sealed = seal(b"v", HERE, keyring)
    monkeypatch.setenv(NAME, _key())

    with pytest.raises(IntegrityError):
        unseal(sealed, HERE, keyring)


def test_it_is_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, _key())
    keyring = open_keyring(f"env://{NAME}")

    assert keyring.read_only
    with pytest.raises(ConfigurationError, match=f"read-only.*'2:<new base64 key>' to {NAME}"):
        keyring.rotate()
    with pytest.raises(ConfigurationError, match="read-only"):
        keyring.create()


def test_an_unset_variable_is_no_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)
    keyring = open_keyring(f"env://{NAME}")

    assert not keyring.exists()
    with pytest.raises(ConfigurationError, match=f"{NAME} is not set"):
        keyring.versions()


@pytest.mark.parametrize(
    "value",
    ["not base64!", base64.b64encode(b"short").decode(), "x:abc", "1:{k},1:{k}"],
    ids=["not-base64", "short", "bad-version", "duplicate"],
)
def test_a_malformed_value_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    value = value.replace("{k}", _key())
    monkeypatch.setenv(NAME, value)

    with pytest.raises(ConfigurationError) as raised:
        open_keyring(f"env://{NAME}").versions()

    assert NAME in str(raised.value)
    assert value not in str(raised.value)


def test_the_repr_shows_the_name_only(monkeypatch: pytest.MonkeyPatch) -> None:
    key = _key()
    monkeypatch.setenv(NAME, key)

    assert repr(open_keyring(f"env://{NAME}")) == f"EnvKeyring('{NAME}')"
    assert key not in repr(open_keyring(f"env://{NAME}"))
