"""PyPI API tokens are ``pypi-`` + base64url of a version-2 macaroon
(libmacaroons' binary format). A token is well formed when it decodes, names
``pypi.org`` or ``test.pypi.org`` as its location, and its fields run to a
32-byte signature with nothing after it."""

from __future__ import annotations

import base64
import binascii

_VERSION = 2
_EOS = 0
_LOCATION = 1
_IDENTIFIER = 2
_SIGNATURE = 6
_SIGNATURE_BYTES = 32
_LOCATIONS = (b"pypi.org", b"test.pypi.org")
_MAX_SECTIONS = 256


class _Malformed(Exception):
    """The bytes are not a v2 macaroon."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def varint(self) -> int:
        value = shift = 0
        while True:
            if self.at >= len(self.data) or shift > 28:
                raise _Malformed
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def field(self) -> tuple[int, bytes]:
        kind = self.varint()
        if kind == _EOS:
            return kind, b""
        size = self.varint()
        if self.at + size > len(self.data):
            raise _Malformed
        value = self.data[self.at : self.at + size]
        self.at += size
        return kind, value

    def section(self) -> dict[int, bytes]:
        fields: dict[int, bytes] = {}
        while True:
            kind, value = self.field()
            if kind == _EOS:
                return fields
            if kind in fields or kind == _SIGNATURE:
                raise _Malformed
            fields[kind] = value


def _parse(data: bytes) -> None:
    if not data or data[0] != _VERSION:
        raise _Malformed
    reader = _Reader(data)
    reader.at = 1
    header = reader.section()
    if header.get(_LOCATION) not in _LOCATIONS or _IDENTIFIER not in header:
        raise _Malformed
    for _ in range(_MAX_SECTIONS):
        if reader.at < len(data) and data[reader.at] == _EOS:
            reader.at += 1
            break
        if _IDENTIFIER not in reader.section():
            raise _Malformed
    else:
        raise _Malformed
    kind, signature = reader.field()
    if kind != _SIGNATURE or len(signature) != _SIGNATURE_BYTES or reader.at != len(data):
        raise _Malformed


def pypi_macaroon(secret: str) -> bool:
    """``pypi-<base64url macaroon>`` that decodes and parses (see module)."""
    body = secret.removeprefix("pypi-").rstrip("=")
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        _parse(data)
    except (binascii.Error, ValueError, _Malformed):
        return False
    return True


__all__ = ["pypi_macaroon"]
