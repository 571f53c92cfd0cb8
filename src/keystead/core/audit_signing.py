"""Ed25519 checkpoints of the audit chain, with a key derived from the server
secret (HKDF-SHA256, info ``keystead audit signing v1``)."""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keystead.core.audit import Checkpoint, canonical_json, stamp

SIGNING_INFO = b"keystead audit signing v1"


def signing_key(secret: bytes) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_INFO).derive(secret)
    return Ed25519PrivateKey.from_private_bytes(seed)


def checkpoint_message(checkpoint: Checkpoint) -> bytes:
    """What a checkpoint signature covers (canonical JSON, see docs/audit.md)."""
    return canonical_json(
        {
            "v": 1,
            "workspace_id": checkpoint.workspace_id,
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "at": stamp(checkpoint.at),
        }
    )


def sign(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> str:
    """The base64 Ed25519 signature of ``checkpoint``."""
    return base64.b64encode(key.sign(checkpoint_message(checkpoint))).decode()


def signature_ok(public: Ed25519PublicKey, checkpoint: Checkpoint) -> bool:
    try:
        public.verify(
            base64.b64decode(checkpoint.signature, validate=True), checkpoint_message(checkpoint)
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def public_raw_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


__all__ = [
    "SIGNING_INFO",
    "checkpoint_message",
    "public_pem",
    "public_raw_b64",
    "sign",
    "signature_ok",
    "signing_key",
]
