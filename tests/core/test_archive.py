"""The backup archive's envelope: chunks open only whole, in order, under their
header, and a stream cut anywhere (even at a chunk boundary) is refused."""

from __future__ import annotations

import os

import pytest

from keystead.core.archive import (
    ALTERED,
    CHUNK_BYTES,
    NOT_A_BACKUP,
    TRUNCATED,
    ChunkOpener,
    ChunkSealer,
    PassphraseWrapper,
    header_bytes,
    new_data_key,
    parse_header,
)
from keystead.errors import IntegrityError

HEADER = header_bytes({"format": 1, "revision": "0019"})
PAYLOAD = os.urandom(2 * CHUNK_BYTES + 1000)  # three chunks


def _sealed(key: bytes, payload: bytes = PAYLOAD) -> list[bytes]:
    sealer = ChunkSealer(key, HEADER)
    chunks = list(sealer.feed(payload[:1000]))
    chunks += sealer.feed(payload[1000:])
    return [*chunks, sealer.finish()]


def _open(key: bytes, data: bytes, piece: int = 70_000, header: bytes = HEADER) -> bytes:
    opener = ChunkOpener(key, header)
    out = [b"".join(opener.feed(data[i : i + piece])) for i in range(0, len(data), piece)]
    return b"".join(out) + opener.finish()


def test_chunks_open_back_to_the_payload_in_any_pieces() -> None:
    key = new_data_key()
    chunks = _sealed(key)
    assert len(chunks) == 3
    for piece in (4096, 10**7):
        assert _open(key, b"".join(chunks), piece) == PAYLOAD
    short = b"short stream " * 10
    assert _open(key, b"".join(_sealed(key, short)), piece=1) == short
    assert _open(key, b"".join(_sealed(key, b""))) == b""


def test_a_stream_cut_anywhere_is_truncated() -> None:
    key = new_data_key()
    chunks = _sealed(key)
    whole = b"".join(chunks)
    with pytest.raises(IntegrityError, match="truncated"):
        _open(key, b"".join(chunks[:2]))  # at a chunk boundary
    for cut in (len(whole) - 1, len(whole) // 2, 3):
        with pytest.raises(IntegrityError, match="truncated"):
            _open(key, whole[:cut])
    with pytest.raises(IntegrityError) as empty:
        _open(key, b"")
    assert empty.value.detail == TRUNCATED


@pytest.mark.parametrize("change", ["flip", "swap", "repeat", "append"])
def test_altered_chunks_are_refused(change: str) -> None:
    key = new_data_key()
    chunks = _sealed(key)
    if change == "flip":
        middle = bytearray(chunks[1])
        middle[500] ^= 1
        chunks[1] = bytes(middle)
    elif change == "swap":
        chunks[0], chunks[1] = chunks[1], chunks[0]
    elif change == "repeat":
        chunks.insert(1, chunks[0])
    else:
        chunks.append(b"\x00\x00\x00\x20" + b"x" * 32)
    with pytest.raises(IntegrityError) as refused:
        _open(key, b"".join(chunks))
    assert refused.value.detail == ALTERED


def test_the_header_and_the_key_are_bound() -> None:
    key = new_data_key()
    data = b"".join(_sealed(key))
    other = header_bytes({"format": 1, "revision": "0018"})
    for wrong_key, header in ((new_data_key(), HEADER), (key, other)):
        with pytest.raises(IntegrityError) as refused:
            _open(wrong_key, data, header=header)
        assert refused.value.detail == ALTERED


def test_header_parsing() -> None:
    header, end = parse_header(HEADER + b"rest")
    assert (header, end) == ({"format": 1, "revision": "0019"}, len(HEADER))
    assert parse_header(HEADER[:20]) == ({}, -1)  # read more
    with pytest.raises(IntegrityError) as refused:
        parse_header(b"PK\x03\x04 a zip file, not a backup")
    assert refused.value.detail == NOT_A_BACKUP
    with pytest.raises(IntegrityError, match="this Keystead reads format 1"):
        parse_header(header_bytes({"format": 2}))


def test_a_passphrase_wraps_the_data_key() -> None:
    params = PassphraseWrapper.new_params()
    params["n"] = 1 << 10  # cheap for the test; the stored parameters are what opens
    key = new_data_key()
    version, wrapped = PassphraseWrapper("correct horse", params).wrap(key)
    assert PassphraseWrapper("correct horse", params).unwrap(version, wrapped) == key
    with pytest.raises(IntegrityError, match="wrong passphrase"):
        PassphraseWrapper("wrong horse", params).unwrap(version, wrapped)
    for bad_version, cut in ((2, wrapped), (1, wrapped[:5]), (1, b"")):
        with pytest.raises(IntegrityError, match="wrong passphrase"):
            PassphraseWrapper("correct horse", params).unwrap(bad_version, cut)
    for bad in ({"n": 1000}, {"n": 1 << 30}, {"r": 0}, {"salt": "!!"}):
        with pytest.raises(IntegrityError, match="not a Keystead backup"):
            PassphraseWrapper("correct horse", {**params, **bad})
    assert PassphraseWrapper.new_params()["salt"] != params["salt"]
