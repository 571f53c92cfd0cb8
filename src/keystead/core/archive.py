"""The backup archive's envelope: a plaintext header, then the compressed row
stream in AES-256-GCM chunks under a fresh data key.

Pure: the data key is wrapped by a :class:`~keystead.core.envelope.KeyWrapper`,
the store's master key (the keyring) or :class:`PassphraseWrapper` (scrypt);
nothing here reads a file, the clock or the store. Format version 1::

    MAGIC (16 bytes)  b"KEYSTEAD-BACKUP\\n"
    uint32            length H of the header
    H bytes           the header: UTF-8 JSON (format, revision, scope, created_at,
                      tables with their columns and row counts, how the data key is
                      wrapped, compression)
    chunks            uint32 length L, then L bytes: AES-256-GCM ciphertext + tag

Chunk ``i`` (from 0) is sealed with the nonce ``i`` (11 bytes, big-endian) and a
last byte 1 on the final chunk, 0 on the others (the STREAM construction), and
the associated data is everything before the first chunk: the header cannot be
altered, chunks cannot be reordered, dropped or repeated, and a file cut at a
chunk boundary no longer ends in a final chunk. Every integer is big-endian.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keystead.core.envelope import DATA_KEY_BYTES, NONCE_BYTES
from keystead.errors import IntegrityError

FORMAT = 1
MAGIC = b"KEYSTEAD-BACKUP\n"
CHUNK_BYTES = 1 << 20
"""Plaintext bytes per chunk (the last may be shorter, even empty)."""
MAX_HEADER_BYTES = 16 << 20
_LENGTH = struct.Struct(">I")
_TAG_BYTES = 16

SCRYPT_N = 1 << 17
SCRYPT_R = 8
SCRYPT_P = 1
"""scrypt's cost for a new passphrase archive (128 MiB, a fraction of a second);
the parameters are stored in the header, so stronger ones still open."""
_SCRYPT_LIMITS = {"n": 1 << 22, "r": 32, "p": 16}
_PASSPHRASE_AAD = b"keystead.backup.passphrase.v1"

TRUNCATED = "the backup file is truncated (it ends before its last chunk)"
ALTERED = "the backup file is damaged or was altered (a chunk failed its integrity check)"
NOT_A_BACKUP = "this is not a Keystead backup file (or its header is damaged)"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise IntegrityError(f"{NOT_A_BACKUP}: {what}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError(f"{NOT_A_BACKUP}: {what}") from None


class PassphraseWrapper:
    """A key wrapper whose key-encryption key is derived from a passphrase with
    scrypt (RFC 7914); its one version is 1. For archives kept off site: the
    passphrase opens the archive, not the values sealed under the master key in it."""

    current_version = 1

    def __init__(self, passphrase: str, params: Mapping[str, Any]) -> None:
        if not passphrase:
            raise IntegrityError("the passphrase is empty")
        try:
            salt = unb64(params["salt"], "scrypt salt")
            n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
        except (KeyError, TypeError, ValueError):
            raise IntegrityError(f"{NOT_A_BACKUP}: scrypt parameters") from None
        if n < 2 or n & (n - 1) or not 1 <= r <= _SCRYPT_LIMITS["r"] or not 1 <= p <= 16:
            raise IntegrityError(f"{NOT_A_BACKUP}: scrypt parameters out of range")
        if n > _SCRYPT_LIMITS["n"] or len(salt) < 16:
            raise IntegrityError(f"{NOT_A_BACKUP}: scrypt parameters out of range")
        kdf = Scrypt(salt=salt, length=DATA_KEY_BYTES, n=n, r=r, p=p)
        self._kek = AESGCM(kdf.derive(passphrase.encode("utf-8")))

    @staticmethod
    def new_params() -> dict[str, Any]:
        """Fresh parameters for a new archive: a random salt and the default cost."""
        salt = b64(os.urandom(16))
        return {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt}

    def wrap(self, data_key: bytes) -> tuple[int, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return 1, nonce + self._kek.encrypt(nonce, data_key, _PASSPHRASE_AAD)

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        try:
            if version != 1:
                raise InvalidTag
            return self._kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _PASSPHRASE_AAD)
        except (InvalidTag, ValueError):
            raise IntegrityError("wrong passphrase (or the backup's header was altered)") from None


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)


def header_bytes(header: Mapping[str, Any]) -> bytes:
    """What precedes the first chunk (and is the associated data of every chunk)."""
    body = orjson.dumps(header, option=orjson.OPT_SORT_KEYS)
    return MAGIC + _LENGTH.pack(len(body)) + body


def parse_header(prefix: bytes) -> tuple[dict[str, Any], int]:
    """The header and its length in ``prefix`` (the file's first bytes); ``-1``
    as the length when ``prefix`` is too short to hold it."""
    if len(prefix) < len(MAGIC) + _LENGTH.size:
        if not MAGIC.startswith(prefix[: len(MAGIC)]):
            raise IntegrityError(NOT_A_BACKUP)
        return {}, -1
    if prefix[: len(MAGIC)] != MAGIC:
        raise IntegrityError(NOT_A_BACKUP)
    (size,) = _LENGTH.unpack_from(prefix, len(MAGIC))
    if size > MAX_HEADER_BYTES:
        raise IntegrityError(NOT_A_BACKUP)
    end = len(MAGIC) + _LENGTH.size + size
    if len(prefix) < end:
        return {}, -1
    try:
        header = orjson.loads(prefix[len(MAGIC) + _LENGTH.size : end])
    except orjson.JSONDecodeError:
        raise IntegrityError(NOT_A_BACKUP) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise IntegrityError(
            f"{NOT_A_BACKUP}: format {found!r}; this Keystead reads format {FORMAT}"
        )
    return header, end


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(NONCE_BYTES - 1, "big") + (b"\x01" if final else b"\x00")


class ChunkSealer:
    """Seals the plaintext stream into framed chunks, :data:`CHUNK_BYTES` each."""

    def __init__(self, data_key: bytes, associated: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._associated = associated
        self._index = 0
        self._pending = bytearray()

    def _seal(self, plain: bytes, final: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._index, final), plain, self._associated)
        self._index += 1
        return _LENGTH.pack(len(sealed)) + sealed

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._pending += data
        while len(self._pending) > CHUNK_BYTES:  # what is left over goes in the final chunk
            plain = bytes(self._pending[:CHUNK_BYTES])
            del self._pending[:CHUNK_BYTES]
            yield self._seal(plain, final=False)

    def finish(self) -> bytes:
        plain = bytes(self._pending)
        self._pending.clear()
        return self._seal(plain, final=True)


class ChunkOpener:
    """Opens framed chunks fed in pieces of any size; :meth:`finish` refuses a
    stream that did not end with its final chunk, or had bytes after it."""

    def __init__(self, data_key: bytes, associated: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._associated = associated
        self._index = 0
        self._buffer = bytearray()
        self._done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The plaintext of every chunk complete in what was fed so far, but one:
        a chunk is final only when nothing follows it, which ``finish`` tells."""
        self._buffer += data
        while True:
            framed = self._frame()
            if framed is None or len(self._buffer) == framed:
                return  # the last complete chunk might be the final one: wait
            yield self._open(bytes(self._buffer[_LENGTH.size : framed]), final=False)
            del self._buffer[:framed]

    def finish(self) -> bytes:
        framed = self._frame()
        if framed is None:
            raise IntegrityError(TRUNCATED)
        if len(self._buffer) != framed:
            raise IntegrityError(ALTERED)
        body = bytes(self._buffer[_LENGTH.size : framed])
        self._buffer.clear()
        try:
            return self._open(body, final=True)
        except IntegrityError:
            try:  # a whole chunk that is not final: the file was cut at a chunk boundary
                self._aead.decrypt(_nonce(self._index, False), body, self._associated)
            except InvalidTag:
                raise IntegrityError(ALTERED) from None
            raise IntegrityError(TRUNCATED) from None

    def _frame(self) -> int | None:
        """The end offset of the first complete framed chunk in the buffer."""
        if len(self._buffer) < _LENGTH.size:
            return None
        (size,) = _LENGTH.unpack_from(self._buffer)
        if size < _TAG_BYTES or size > CHUNK_BYTES + _TAG_BYTES:
            raise IntegrityError(ALTERED)
        end = _LENGTH.size + size
        return end if len(self._buffer) >= end else None

    def _open(self, body: bytes, *, final: bool) -> bytes:
        try:
            plain = self._aead.decrypt(_nonce(self._index, final), body, self._associated)
        except InvalidTag:
            raise IntegrityError(ALTERED) from None
        self._index += 1
        return plain


__all__ = [
    "ALTERED",
    "CHUNK_BYTES",
    "FORMAT",
    "MAGIC",
    "NOT_A_BACKUP",
    "TRUNCATED",
    "ChunkOpener",
    "ChunkSealer",
    "PassphraseWrapper",
    "b64",
    "header_bytes",
    "new_data_key",
    "parse_header",
    "unb64",
]
