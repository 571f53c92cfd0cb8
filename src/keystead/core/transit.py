"""Transit: encryption as a service with named keys, as Vault's Transit engine. Pure.

A transit mount holds named keys. A key has versions 1..n, each 32 random bytes
(the key material), sealed at rest with the envelope (``keystead.core.envelope``)
under :func:`transit_key_aad` (workspace, mount, key name and version), never
stored in plain. Applications send plaintext and get ciphertext back; they
never hold the key.

A ciphertext is Vault's: ``vault:v<N>:<base64(nonce || ciphertext || tag)>``, with
a 96-bit random nonce, standard base64 with padding, ``N`` the key version that
encrypted it. ``aes256-gcm96`` is AES-256-GCM; ``chacha20-poly1305`` is RFC 8439.
Optional ``associated_data`` (base64) is the AEAD's associated data, as in Vault.

Rules per key, as in Vault: ``min_decryption_version`` (1..latest; older
ciphertexts are refused), ``min_encryption_version`` (0: any; else the oldest
version a caller may name, at least ``min_decryption_version``) and
``deletion_allowed`` (a key can be deleted only once this is set). Derived keys,
convergent encryption and exportable keys are not served.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from keystead.core.envelope import aad
from keystead.core.secrets import TRANSIT
from keystead.errors import NotFound, PayloadTooLarge, ValidationError

AES256_GCM96 = "aes256-gcm96"
CHACHA20_POLY1305 = "chacha20-poly1305"
KEY_TYPES: tuple[str, ...] = (AES256_GCM96, CHACHA20_POLY1305)
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
DATAKEY_BITS: tuple[int, ...] = (128, 256, 512)
MAX_PLAINTEXT_BYTES = 1024 * 1024
"""The largest plaintext (decoded) one item encrypts."""
MAX_BATCH = 1000
"""The most items one ``batch_input`` holds."""
MAX_NAME_LENGTH = 128
TRANSIT_KEY_AAD_LABEL = "keystead.transit-key.v1"
PREFIX = "vault:v"

_NAME_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9_])?")
_CIPHERS: dict[str, type[AESGCM] | type[ChaCha20Poly1305]] = {
    AES256_GCM96: AESGCM,
    CHACHA20_POLY1305: ChaCha20Poly1305,
}

DECRYPT_FAILED = "invalid ciphertext: unable to decrypt"
TOO_OLD = "ciphertext or signature version is disallowed by policy (too old)"


class TransitKeyNotFound(NotFound):
    """No key of that name on the mount (Vault: "encryption key not found")."""


@dataclass(frozen=True, slots=True)
class TransitKeyVersion:
    """One version's metadata (never its material)."""

    version: int
    created_time: datetime
    key_version: int
    """The master-key version that wraps its material."""


@dataclass(frozen=True, slots=True)
class TransitKey:
    """A named key: its rules and versions (ascending), no material."""

    id: str
    workspace_id: str
    mount: str
    name: str
    type: str
    created_time: datetime
    updated_time: datetime
    latest_version: int = 1
    min_decryption_version: int = 1
    min_encryption_version: int = 0
    deletion_allowed: bool = False
    versions: tuple[TransitKeyVersion, ...] = ()

    def version(self, number: int) -> TransitKeyVersion | None:
        return next((v for v in self.versions if v.version == number), None)

    def encryption_version(self, requested: int = 0) -> int:
        """The version that encrypts: ``requested`` (0: the latest), checked."""
        if requested == 0:
            return self.latest_version
        if requested < self.min_encryption_version:
            raise ValidationError(
                "requested version for encryption is less than the minimum encryption key version",
                field="key_version",
            )
        if requested > self.latest_version:
            raise ValidationError(
                "requested version for encryption is higher than the latest key version",
                field="key_version",
            )
        if requested < self.min_decryption_version:
            raise ValidationError(
                "requested version for encryption is below the minimum decryption version",
                field="key_version",
            )
        return requested

    def check_decryption_version(self, version: int) -> None:
        if version < self.min_decryption_version:
            raise ValidationError(TOO_OLD, field="ciphertext")
        if version > self.latest_version:
            raise ValidationError("invalid ciphertext: version is too new", field="ciphertext")


@dataclass(frozen=True, slots=True)
class SealedTransitVersion:
    """A version as stored: metadata and the envelope's byte form of its material."""

    info: TransitKeyVersion
    sealed: bytes = field(repr=False)


def transit_key_aad(workspace_id: str, mount: str, name: str, version: int) -> bytes:
    """The AAD of one sealed key version: where it belongs, all of it."""
    return aad(TRANSIT_KEY_AAD_LABEL, workspace_id, mount, name, version)


# arguments ----------------------------------------------------------------------
def check_name(value: object, field: str = "name") -> str:
    """A key name as Vault accepts it: letters, digits, ``_``, and ``-`` or ``.``
    inside; one path segment."""
    if not isinstance(value, str) or _NAME_RE.fullmatch(value) is None:
        raise ValidationError(
            f"a transit key name is 1-{MAX_NAME_LENGTH} characters of A-Z a-z 0-9 _ . -, "
            "starting and ending with a letter, digit or _",
            field=field,
        )
    return value


def check_type(value: object) -> str:
    if value is None:
        return AES256_GCM96
    if value not in KEY_TYPES:
        raise ValidationError(
            f"unknown or unsupported key type {str(value)[:40]!r}; supported: "
            + ", ".join(KEY_TYPES),
            field="type",
        )
    return str(value)


def check_version_number(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{field} is a whole number, 0 or more", field=field)
    return value


def refuse_unserved(**options: Any) -> None:
    """Derived and convergent keys, exports and plaintext backups are not served:
    asking for one is a clear refusal rather than a key that behaves otherwise."""
    for name, value in options.items():
        if value not in (None, False, 0, ""):
            raise ValidationError(f"{name} is not supported by Keystead's transit", field=name)


def decode_b64(value: object, field: str, *, limit: int = MAX_PLAINTEXT_BYTES) -> bytes:
    """Standard base64 (Vault's encoding of plaintexts, contexts and data keys)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} is a base64 string", field=field)
    if len(value) > (limit // 3 + 1) * 4 + 4:
        raise PayloadTooLarge(f"{field} is larger than {limit} bytes", field=field)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{field} is not valid base64", field=field) from None


def encode_b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# ciphertexts --------------------------------------------------------------------
def format_ciphertext(version: int, payload: bytes) -> str:
    return f"{PREFIX}{version}:{encode_b64(payload)}"


def parse_ciphertext(value: object, field: str = "ciphertext") -> tuple[int, bytes]:
    """``vault:vN:<base64>`` to (N, nonce || ciphertext || tag), with Vault's messages."""
    if not isinstance(value, str) or not value:
        raise ValidationError("missing ciphertext to decrypt", field=field)
    if not value.startswith(PREFIX):
        raise ValidationError("invalid ciphertext: no prefix", field=field)
    number, colon, body = value[len(PREFIX) :].partition(":")
    if not colon:
        raise ValidationError("invalid ciphertext: wrong number of fields", field=field)
    if not number.isascii() or not number.isdigit() or len(number) > 9:
        raise ValidationError(
            "invalid ciphertext: version number could not be decoded", field=field
        )
    try:
        payload = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("invalid ciphertext: could not decode base64", field=field) from None
    if len(payload) < NONCE_BYTES + TAG_BYTES:
        raise ValidationError(DECRYPT_FAILED, field=field)
    return max(int(number), 1), payload


def new_key_material() -> bytes:
    return os.urandom(KEY_BYTES)


def encrypt(key_type: str, key: bytes, plaintext: bytes, associated: bytes | None) -> bytes:
    """nonce || ciphertext || tag under ``key`` (a fresh random 96-bit nonce)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _CIPHERS[key_type](key).encrypt(nonce, plaintext, associated)


def decrypt(key_type: str, key: bytes, payload: bytes, associated: bytes | None) -> bytes:
    """The plaintext, or ValidationError (Vault's "unable to decrypt": altered, other
    key or other associated data)."""
    nonce, body = payload[:NONCE_BYTES], payload[NONCE_BYTES:]
    try:
        return _CIPHERS[key_type](key).decrypt(nonce, body, associated)
    except InvalidTag:
        raise ValidationError(DECRYPT_FAILED, field="ciphertext") from None


# configuration -------------------------------------------------------------------
def configured(
    key: TransitKey,
    *,
    min_decryption_version: object = None,
    min_encryption_version: object = None,
    deletion_allowed: object = None,
) -> TransitKey:
    """``key`` with the settings given (None: keep), checked as Vault checks them."""
    min_dec, min_enc = key.min_decryption_version, key.min_encryption_version
    deletable = key.deletion_allowed
    if min_decryption_version is not None:
        min_dec = check_version_number(min_decryption_version, "min_decryption_version") or 1
        if min_dec > key.latest_version:
            raise ValidationError(
                f"cannot set min decryption version of {min_dec}, latest key version is "
                f"{key.latest_version}",
                field="min_decryption_version",
            )
    if min_encryption_version is not None:
        min_enc = check_version_number(min_encryption_version, "min_encryption_version")
        if min_enc > key.latest_version:
            raise ValidationError(
                f"cannot set min encryption version of {min_enc}, latest key version is "
                f"{key.latest_version}",
                field="min_encryption_version",
            )
    if 0 < min_enc < min_dec:
        raise ValidationError(
            "cannot set min encryption/decryption values; min encryption version of "
            f"{min_enc} must be greater than or equal to min decryption version of {min_dec}",
            field="min_encryption_version",
        )
    if deletion_allowed is not None:
        if not isinstance(deletion_allowed, bool):
            raise ValidationError("deletion_allowed is true or false", field="deletion_allowed")
        deletable = deletion_allowed
    return replace(
        key,
        min_decryption_version=min_dec,
        min_encryption_version=min_enc,
        deletion_allowed=deletable,
    )


def settings(key: TransitKey) -> dict[str, Any]:
    """What the audit log records of a key's rules."""
    return {
        "type": key.type,
        "latest_version": key.latest_version,
        "min_decryption_version": key.min_decryption_version,
        "min_encryption_version": key.min_encryption_version,
        "deletion_allowed": key.deletion_allowed,
    }


__all__ = [
    "AES256_GCM96",
    "CHACHA20_POLY1305",
    "DATAKEY_BITS",
    "DECRYPT_FAILED",
    "KEY_BYTES",
    "KEY_TYPES",
    "MAX_BATCH",
    "MAX_NAME_LENGTH",
    "MAX_PLAINTEXT_BYTES",
    "NONCE_BYTES",
    "PREFIX",
    "TOO_OLD",
    "TRANSIT",
    "TRANSIT_KEY_AAD_LABEL",
    "SealedTransitVersion",
    "TransitKey",
    "TransitKeyNotFound",
    "TransitKeyVersion",
    "check_name",
    "check_type",
    "check_version_number",
    "configured",
    "decode_b64",
    "decrypt",
    "encode_b64",
    "encrypt",
    "format_ciphertext",
    "new_key_material",
    "parse_ciphertext",
    "refuse_unserved",
    "settings",
    "transit_key_aad",
]
