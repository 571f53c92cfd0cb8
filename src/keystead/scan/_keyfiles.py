"""Validators for private key material: PEM and OpenSSH keys (parsed with
``cryptography``), OpenPGP secret key blocks (armor checksum and packet tag)
and age identities (bech32 checksum)."""

from __future__ import annotations

import base64
import binascii
import re
import warnings

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

_ESCAPED_NEWLINE = re.compile(r"\\r\\n|\\n|\\r")
_DEK_INFO = re.compile(r"DEK-Info: [A-Z0-9\-]+,[0-9A-Fa-f]+")


def _pem_text(secret: str) -> str:
    """The block with JSON/YAML escapes undone and each line's indentation
    removed, as it would be in a ``.pem`` file."""
    text = _ESCAPED_NEWLINE.sub("\n", secret)
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(lines).strip() + "\n"


def private_key(secret: str) -> bool:
    """A PEM or OpenSSH private key that ``cryptography`` parses: RSA, DSA,
    EC, Ed25519/Ed448, PKCS#8. An encrypted key counts once its container
    parses (``cryptography`` then asks for the password); a traditional
    encrypted PEM must carry ciphertext whole blocks long."""
    text = _pem_text(secret)
    data = text.encode("ascii", "replace")
    try:
        with warnings.catch_warnings():  # DSA and other deprecated keys still count
            warnings.simplefilter("ignore")
            if "OPENSSH PRIVATE KEY" in text:
                serialization.load_ssh_private_key(data, password=None)
            else:
                serialization.load_pem_private_key(data, password=None)
    except TypeError:
        # encrypted: the structure parsed up to the point a password is needed
        return _whole_ciphertext(text) if "Proc-Type: 4,ENCRYPTED" in text else True
    except (ValueError, IndexError, OverflowError, UnsupportedAlgorithm):
        return False
    return True


def _whole_ciphertext(text: str) -> bool:
    """A traditional encrypted PEM is parsed only up to its headers; check
    that the body is base64 of whole cipher blocks."""
    if _DEK_INFO.search(text) is None:
        return False
    body = "".join(
        line for line in text.splitlines()[1:-1] if ":" not in line and not line.startswith("-")
    )
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= 16 and len(raw) % 8 == 0


_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB
_PGP_SECRET_KEY_TAG = 5


def _crc24(data: bytes) -> int:
    crc = _CRC24_INIT
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= _CRC24_POLY
    return crc & 0xFFFFFF


def pgp_private_key(secret: str) -> bool:
    """An ASCII-armored OpenPGP secret key (RFC 4880 / 9580): the armor's
    CRC-24 matches when present, and the first packet is a secret key."""
    lines = [line.strip() for line in _ESCAPED_NEWLINE.sub("\n", secret).splitlines()]
    lines = [line for line in lines if line and not line.startswith("-----")]
    body_lines = [line for line in lines if ": " not in line]
    checksum = None
    if body_lines and body_lines[-1].startswith("=") and len(body_lines[-1]) == 5:
        checksum = body_lines.pop()[1:]
    try:
        raw = base64.b64decode("".join(body_lines), validate=True)
        expected = base64.b64decode(checksum, validate=True) if checksum else None
    except (binascii.Error, ValueError):
        return False
    if not raw:
        return False
    if expected is not None and int.from_bytes(expected, "big") != _crc24(raw):
        return False
    first = raw[0]
    if not first & 0x80:
        return False
    tag = first & 0x3F if first & 0x40 else (first >> 2) & 0x0F
    return tag == _PGP_SECRET_KEY_TAG


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_AGE_HRP = "age-secret-key-"
_AGE_KEY_BYTES = 32


def _bech32_polymod(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_BECH32_GENERATOR):
            if (top >> i) & 1:
                check ^= generator
    return check


def age_secret_key(secret: str) -> bool:
    """An age identity, ``AGE-SECRET-KEY-1...``: bech32 (BIP 173) with a
    valid checksum and a 32-byte X25519 key."""
    text = secret.lower()
    hrp, sep, data = text.rpartition("1")
    if hrp != _AGE_HRP or not sep or len(data) < 7:
        return False
    try:
        values = [_BECH32.index(char) for char in data]
    except ValueError:
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if _bech32_polymod(expanded + values) != 1:
        return False
    return _whole_bytes(values[:-6]) == _AGE_KEY_BYTES


def _whole_bytes(values: list[int]) -> int | None:
    """How many bytes 5-bit groups carry, or ``None`` when the padding is
    longer than 4 bits or not zero (BIP 173's ``convertbits`` rule)."""
    accumulator = 0
    bits = 0
    count = 0
    for value in values:
        accumulator = (accumulator << 5 | value) & 0xFFF
        bits += 5
        if bits >= 8:
            bits -= 8
            count += 1
    if bits >= 5 or accumulator & ((1 << bits) - 1):
        return None
    return count


__all__ = ["age_secret_key", "pgp_private_key", "private_key"]
