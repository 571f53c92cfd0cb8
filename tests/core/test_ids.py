"""Resource ids: time-ordered, well-formed, unique, and never repeated by a forked
child (the random bytes come from a pool refilled from ``os.urandom``); each random
character is the Crockford digit of one random byte's low five bits, so every
digit is as likely."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from keystead.core.ids import _CROCKFORD, _RANDOM_CHARS, _tails_of, looks_like_id, new_id


@given(st.lists(st.binary(min_size=_RANDOM_CHARS, max_size=_RANDOM_CHARS), max_size=130))
def test_each_random_character_is_a_bytes_low_five_bits(chunks: list[bytes]) -> None:
    expected = ["".join(_CROCKFORD[b & 0x1F] for b in chunk) for chunk in chunks]
    assert _tails_of(b"".join(chunks)) == expected


def test_every_digit_comes_from_as_many_byte_values() -> None:
    digits = "".join(_tails_of(bytes(range(256)) * _RANDOM_CHARS))
    assert {digits.count(d) for d in _CROCKFORD} == {8 * _RANDOM_CHARS}


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
