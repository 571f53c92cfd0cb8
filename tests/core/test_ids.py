"""Resource ids: time-ordered, well-formed, unique, and never repeated by a forked
child (the random bytes come from a pool refilled from ``os.urandom``); the random
characters are the bytes' Crockford digits, as ``_base32`` writes them."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from keystead.core.ids import (
    _RANDOM_BYTES,
    _RANDOM_CHARS,
    _base32,
    _tails_of,
    looks_like_id,
    new_id,
)


@given(st.lists(st.binary(min_size=_RANDOM_BYTES, max_size=_RANDOM_BYTES), max_size=130))
def test_the_random_characters_are_the_bytes_crockford_digits(chunks: list[bytes]) -> None:
    expected = [_base32(int.from_bytes(chunk, "big"), _RANDOM_CHARS) for chunk in chunks]
    assert _tails_of(b"".join(chunks)) == expected


def test_ids_are_well_formed_unique_and_sort_by_time() -> None:
    ids = [new_id("aud", 1_700_000_000.0 + n / 1000) for n in range(1000)]

    assert all(looks_like_id("aud", i) for i in ids)
    assert len(set(ids)) == 1000
    assert ids == sorted(ids)


def test_a_forked_child_draws_other_bytes_than_its_parent() -> None:
    new_id("aud", 0.0)  # the parent's pool holds unused bytes when it forks
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, new_id("aud", 0.0).encode())
        os._exit(0)
    os.waitpid(child, 0)
    os.close(write)
    from_child = os.read(read, 64).decode()
    os.close(read)

    assert looks_like_id("aud", from_child)
    assert from_child != new_id("aud", 0.0)
