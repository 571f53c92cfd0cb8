"""GitHub's signature scheme, checked against signatures made as GitHub makes them."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from keystead.core.leak_signature import decode_signature, load_public_key, verify
from leakkit import Signer, matches


def test_a_body_signed_by_the_key_verifies() -> None:
    signer = Signer()
    body = matches("lk_token")
    assert verify(body, signer.sign(body), load_public_key(signer.pem))


def test_the_signature_is_der_in_base64() -> None:
    der = decode_signature(Signer().sign(b"[]"))
    assert der is not None and der[0] == 0x30  # an ASN.1 SEQUENCE of r and s


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b + b" ",  # re-encoded JSON: whitespace differs
        lambda b: b.replace(b"lk_token", b"lk_tokem"),
        lambda b: b[:-1],
    ],
)
def test_any_change_to_the_raw_body_fails(change: object) -> None:
    signer = Signer()
    body = matches("lk_token")
    assert callable(change)
    assert not verify(change(body), signer.sign(body), load_public_key(signer.pem))


def test_another_key_or_a_broken_signature_fails() -> None:
    body = matches("lk_token")
    key = load_public_key(Signer().pem)
    signature = Signer().sign(body)
    assert not verify(body, signature, key)
    assert not verify(body, "not base64 at all!", key)
    assert not verify(body, base64.b64encode(b"\x30\x00").decode(), key)
    assert not verify(body, "", key)
    assert not verify(body, "A" * 1000, key)


def test_only_p256_public_keys_load() -> None:
    for private in (ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 2048)):
        pem = (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        with pytest.raises(ValueError, match="P-256"):
            load_public_key(pem)
    with pytest.raises(ValueError, match="PEM"):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
