"""The masking filter of ``keystead run``: values hidden wherever the reads split them."""

from __future__ import annotations

import random

import pytest

from keystead.consume.masking import MASK, MIN_MASKED_LENGTH, Masker, masked_forms

SECRET = "sk_live_51HxQ2eZvKYlo2C"


def through(masker: Masker, chunks: list[bytes]) -> bytes:
    return b"".join(masker.feed(chunk) for chunk in chunks) + masker.flush()


def split_everywhere(data: bytes) -> list[list[bytes]]:
    """``data`` cut at every position, and into single bytes."""
    cuts = [[data[:i], data[i:]] for i in range(len(data) + 1)]
    return [*cuts, [bytes([b]) for b in data]]


def test_a_value_is_masked_however_the_reads_split_it() -> None:
    line = f"key={SECRET}; again {SECRET}!\n".encode()
    for chunks in split_everywhere(line):
        out = through(Masker(masked_forms([SECRET])), chunks)
        assert out == b"key=" + MASK + b"; again " + MASK + b"!\n", chunks


def test_random_splits_of_a_long_stream_never_show_a_value() -> None:
    values = [SECRET, "hunter2-db-password", "short"]
    rng = random.Random(7)
    text = b"".join(
        rng.choice([v.encode() for v in values] + [b"plain text ", b"\n", b"sk_live", b"hunt"])
        for _ in range(400)
    )
    expected = through(Masker(masked_forms(values)), [text])
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(text)), 30))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        out = through(Masker(masked_forms(values)), chunks)
        assert out == expected
        for value in values:
            assert value.encode() not in out


def test_text_that_cannot_start_a_value_is_written_at_once() -> None:
    masker = Masker(masked_forms([SECRET]))
    assert masker.feed(b"Password: ") == b"Password: "
    assert masker.feed(b"ready> sk_") == b"ready> "  # held: it may be the start of the key
    assert masker.feed(b"test\n") == b"sk_test\n"


def test_overlapping_and_nested_values_become_one_mask() -> None:
    for chunks in split_everywhere(b"x abcdefghi y"):
        masker = Masker(masked_forms(["abcdef", "defghi", "bcd1"]))
        assert through(masker, chunks) == b"x " + MASK + b" y", chunks
    assert through(Masker(masked_forms(["abcd", "abcdefgh"])), [b"abcd", b"efgh"]) == MASK


def test_each_line_of_a_multi_line_value_is_masked_too() -> None:
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----"
    out = through(Masker(masked_forms([pem])), [b"line: MIIEvQIBADANBgkq\n", pem.encode()])
    assert b"MIIEvQIBADANBgkq" not in out
    assert out.count(MASK) == 2


@pytest.mark.parametrize("value", ["", "1", "on", "abc", "   x  "])
def test_values_under_the_minimum_are_left_alone(value: str) -> None:
    assert len(value.strip()) < MIN_MASKED_LENGTH
    assert masked_forms([value]) == []
    assert through(Masker(masked_forms([value])), [b"on 1 abc"]) == b"on 1 abc"


def test_non_ascii_values_are_masked_as_utf8() -> None:
    value = "pässwörd-ключ"
    data = f"[{value}]".encode()
    for chunks in split_everywhere(data):
        assert through(Masker(masked_forms([value])), chunks) == b"[" + MASK + b"]"


def test_no_values_pass_everything_through() -> None:
    masker = Masker([])
    assert masker.feed(b"anything") == b"anything"
    assert masker.flush() == b""
