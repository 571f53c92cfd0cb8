"""Signing keys for access tokens: generation, JWK export, signing, verifying.

The verifying side always knows its algorithm from the key (stored or JWK),
never from a token's header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ALGORITHMS: tuple[str, ...] = ("EdDSA", "ES256", "RS256", "HS256")


def generate_private(algorithm: str) -> bytes:
    """New private material: PKCS#8 DER (asymmetric) or 32 random bytes (HS256)."""
    raise NotImplementedError


def public_jwk(algorithm: str, private: bytes, kid: str) -> dict[str, str] | None:
    """The public JWK (kid, alg, use, kty, crv/x/y or n/e); None for HS256."""
    raise NotImplementedError


class Signer:
    """A loaded private key that signs claims into a JWS compact token."""

    def __init__(self, algorithm: str, kid: str, private: bytes) -> None:
        self.algorithm = algorithm
        self.kid = kid
        raise NotImplementedError

    def sign(self, claims: Mapping[str, Any], typ: str = "at+jwt") -> str:
        raise NotImplementedError


class VerifyingKey:
    """A loaded public key (or HS256 secret) with its algorithm and kid."""

    algorithm: str
    kid: str

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> VerifyingKey:
        raise NotImplementedError

    @classmethod
    def from_private(cls, algorithm: str, kid: str, private: bytes) -> VerifyingKey:
        raise NotImplementedError

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        raise NotImplementedError


__all__ = ["ALGORITHMS", "Signer", "VerifyingKey", "generate_private", "public_jwk"]
