"""Envelope encryption: a sealed item opens only where it was sealed, under its key."""

from __future__ import annotations

import os

import pytest

from keystead.core.envelope import (
    DATA_KEY_BYTES,
    FORMAT_V1,
    NONCE_BYTES,
    TAG_BYTES,
    Sealed,
    aad,
    rewrap,
    seal,
    secret_aad,
    unseal,
)
from keystead.errors import IntegrityError, KeysteadError
from keystead.keyring._material import KeyMaterial

HERE = secret_aad("ws_1", "secret", "payments/stripe", 3)
VALUE = b'{"api_key": "sk_live_not_a_real_one"}'


class Keys:
    """A keyring in memory (the file and env providers share this material)."""

    def __init__(self) -> None:
        self.material = KeyMaterial.generate()

    @property
    def current_version(self) -> int:
        return self.material.current_version

    def wrap(self, data_key: bytes) -> tuple[int, bytes]:
        return self.material.wrap(data_key)

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        return self.material.unwrap(version, wrapped)

    def rotate(self) -> None:
        self.material = self.material.with_new_version()


def test_a_sealed_value_round_trips_through_bytes_and_text() -> None:
    keys = Keys()
    sealed = seal(VALUE, HERE, keys)

    assert unseal(sealed, HERE, keys) == VALUE
    assert unseal(Sealed.from_bytes(sealed.to_bytes()), HERE, keys) == VALUE
    assert unseal(Sealed.from_text(sealed.to_text()), HERE, keys) == VALUE
    assert VALUE not in sealed.to_bytes()


def test_the_byte_layout_is_the_documented_one() -> None:
    keys = Keys()
    raw = seal(VALUE, HERE, keys).to_bytes()

    assert raw[0] == FORMAT_V1
    assert int.from_bytes(raw[1:5], "big") == 1  # master-key version
    wrapped_len = int.from_bytes(raw[5:7], "big")
    assert wrapped_len == DATA_KEY_BYTES + 8  # RFC 3394 adds 8 bytes
    body = raw[7 + wrapped_len + NONCE_BYTES :]
    assert len(body) == len(VALUE) + TAG_BYTES
    assert "=" not in seal(VALUE, HERE, keys).to_text()


def test_each_item_gets_its_own_data_key_and_nonce() -> None:
    keys = Keys()
    first, second = seal(VALUE, HERE, keys), seal(VALUE, HERE, keys)

    assert first.wrapped_key != second.wrapped_key
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


@pytest.mark.parametrize(
    "elsewhere",
    [
        secret_aad("ws_2", "secret", "payments/stripe", 3),  # another workspace
        secret_aad("ws_1", "kv", "payments/stripe", 3),  # another mount
        secret_aad("ws_1", "secret", "payments/paypal", 3),  # another path
        secret_aad("ws_1", "secret", "payments/stripe", 4),  # another version
        secret_aad("ws_1", "secret/payments", "stripe", 3),  # the same text, split elsewhere
    ],
    ids=["workspace", "mount", "path", "version", "boundary"],
)
def test_an_item_copied_to_another_place_does_not_open(elsewhere: bytes) -> None:
    keys = Keys()
    sealed = seal(VALUE, HERE, keys)

    with pytest.raises(IntegrityError, match="integrity check"):
        unseal(sealed, elsewhere, keys)


def test_the_aad_encoding_is_length_prefixed() -> None:
    assert aad("l", "a/b", "c") != aad("l", "a", "b/c")
    assert aad("l", "ab", "") != aad("l", "a", "b")
    assert aad("x", 3) == b"\x00\x00\x00\x01x\x00\x00\x00\x013"


@pytest.mark.parametrize("part", ["wrapped_key", "nonce", "ciphertext", "tag"])
def test_a_tampered_byte_is_an_integrity_error(part: str) -> None:
    keys = Keys()
    sealed = seal(VALUE, HERE, keys)
    raw = bytearray(sealed.to_bytes())
    offset = {
        "wrapped_key": 7,
        "nonce": 7 + len(sealed.wrapped_key),
        "ciphertext": 7 + len(sealed.wrapped_key) + NONCE_BYTES,
        "tag": len(raw) - 1,
    }[part]
    raw[offset] ^= 0x01

    with pytest.raises(IntegrityError):
        unseal(Sealed.from_bytes(bytes(raw)), HERE, keys)


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x01", b"\x02" + bytes(60), b"\x01\x00\x00\x00\x01\x00\x28" + bytes(40)],
    ids=["empty", "header-only", "unknown-format", "no-nonce-or-tag"],
)
def test_what_is_not_a_sealed_item_is_an_integrity_error(raw: bytes) -> None:
    with pytest.raises(IntegrityError, match="not a sealed item"):
        Sealed.from_bytes(raw)


def test_text_that_is_not_base64_is_an_integrity_error() -> None:
    with pytest.raises(IntegrityError):
        Sealed.from_text("not base64 at all!")


def test_the_wrong_master_key_is_an_integrity_error() -> None:
    sealed = seal(VALUE, HERE, Keys())

    with pytest.raises(IntegrityError) as raised:
        unseal(sealed, HERE, Keys())

    assert raised.value.status == 409  # never a 500
    assert isinstance(raised.value, KeysteadError)


def test_an_unknown_master_key_version_is_an_integrity_error() -> None:
    keys = Keys()
    sealed = seal(VALUE, HERE, keys)
    moved = Sealed(7, sealed.wrapped_key, sealed.nonce, sealed.ciphertext)

    with pytest.raises(IntegrityError, match="version 7 is not in the keyring"):
        unseal(moved, HERE, keys)


def test_rewrap_keeps_the_ciphertext_and_moves_to_the_new_version() -> None:
    keys = Keys()
    old = seal(VALUE, HERE, keys)
    keys.rotate()

    new = rewrap(old, keys)

    assert (old.key_version, new.key_version) == (1, 2)
    assert (new.nonce, new.ciphertext) == (old.nonce, old.ciphertext)
    assert new.wrapped_key != old.wrapped_key
    assert unseal(new, HERE, keys) == VALUE
    assert unseal(old, HERE, keys) == VALUE  # version 1 still unwraps
    assert rewrap(new, keys) is new  # already current


def test_rewrap_never_decrypts_the_value() -> None:
    keys = Keys()
    old = seal(VALUE, HERE, keys)
    keys.rotate()
    # a ciphertext that cannot decrypt still rewraps: the value is not touched
    broken = Sealed(old.key_version, old.wrapped_key, old.nonce, os.urandom(40))

    assert rewrap(broken, keys).ciphertext == broken.ciphertext


def test_reprs_and_errors_show_no_value_and_no_key() -> None:
    keys = Keys()
    sealed = seal(VALUE, HERE, keys)
    data_key = keys.unwrap(sealed.key_version, sealed.wrapped_key)

    shown = repr(sealed) + repr(keys.material)
    try:
        unseal(sealed, secret_aad("ws_2", "secret", "x", 1), keys)
    except IntegrityError as exc:
        shown += str(exc) + repr(exc)

    assert "ciphertext=<" in repr(sealed)
    for secret in (VALUE, data_key, sealed.wrapped_key, sealed.ciphertext):
        assert secret.hex() not in shown
        assert repr(secret) not in shown
    assert "sk_live" not in shown
