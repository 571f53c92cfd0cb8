"""GitHub's secret scanning signature: ECDSA over NIST P-256 with SHA-256.

GitHub signs the raw request body with the private key named by the
``Github-Public-Key-Identifier`` header and sends the DER signature, base64, in
``Github-Public-Key-Signature``. The body is checked as received, byte for byte:
parsing and re-encoding the JSON would change what was signed.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

MAX_SIGNATURE_CHARS = 200
"""A P-256 DER signature is at most 72 bytes (96 base64 characters)."""


def load_public_key(pem: str) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from PEM (SubjectPublicKeyInfo); ValueError otherwise."""
    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ValueError("not a PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not a P-256 public key")
    return key


def decode_signature(signature: str) -> bytes | None:
    """The DER bytes of a base64 signature header, None when it is not base64."""
    if not signature or len(signature) > MAX_SIGNATURE_CHARS:
        return None
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def verify(body: bytes, signature: str, key: ec.EllipticCurvePublicKey) -> bool:
    """Whether ``signature`` (base64 DER) signs ``body`` under ``key``."""
    der = decode_signature(signature)
    if der is None:
        return False
    try:
        key.verify(der, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


__all__ = ["MAX_SIGNATURE_CHARS", "decode_signature", "load_public_key", "verify"]
