import re
import zlib

from hypothesis import given
from hypothesis import strategies as st

from keystead.core import keyformat
from keystead.errors import ValidationError

prefixes = st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True)
bodies = st.text(alphabet=keyformat.ALPHABET, min_size=27, max_size=64)


def _reference_checksum(text: str) -> str:
    value = zlib.crc32(text.encode("ascii"))
    digits = ""
    while value:
        value, digit = divmod(value, 62)
        digits = keyformat.ALPHABET[digit] + digits
    return digits.rjust(6, "0")


def test_generated_key_has_the_documented_shape() -> None:
    key = keyformat.generate("acme_live")
    assert re.fullmatch(r"acme_live_[0-9A-Za-z]{38}", key)
    parsed = keyformat.parse(key)
    assert parsed is not None
    assert parsed.prefix == "acme_live"
    assert len(parsed.body) == 32
    assert parsed.start == "acme_live_" + parsed.body[:4]


def test_known_vector() -> None:
    # crc32(b"ks_" + 32 * b"A") computed independently of the module
    head = "ks_" + "A" * 32
    assert keyformat.checksum(head) == _reference_checksum(head)
    assert keyformat.parse(head + _reference_checksum(head)) is not None


@given(prefixes, bodies)
def test_checksum_matches_reference_and_round_trips(prefix: str, body: str) -> None:
    head = f"{prefix}_{body}"
    key = head + keyformat.checksum(head)
    assert keyformat.checksum(head) == _reference_checksum(head)
    parsed = keyformat.parse(key)
    assert parsed == keyformat.ParsedKey(prefix, body)


@given(prefixes, bodies, st.integers(min_value=0), st.sampled_from(keyformat.ALPHABET))
def test_any_single_character_change_is_rejected(
    prefix: str, body: str, position: int, replacement: str
) -> None:
    head = f"{prefix}_{body}"
    key = head + keyformat.checksum(head)
    index = len(prefix) + 1 + position % (len(key) - len(prefix) - 1)
    if key[index] == replacement:
        return
    tampered = key[:index] + replacement + key[index + 1 :]
    # CRC-32 detects every single-character substitution
    assert keyformat.parse(tampered) is None


@given(st.text(max_size=120))
def test_garbage_never_parses_unless_well_formed(text: str) -> None:
    parsed = keyformat.parse(text)
    if parsed is not None:
        assert keyformat.checksum(text[:-6]) == text[-6:]


def test_shape_rules() -> None:
    good = keyformat.generate("ks")
    assert keyformat.parse(good.upper()) is None
    assert keyformat.parse(good + "A") is None
    assert keyformat.parse(" " + good) is None
    assert keyformat.parse("ks_" + "A" * 20) is None
    assert keyformat.is_well_formed(good)


def test_keys_are_unique_and_random() -> None:
    keys = {keyformat.generate("ks") for _ in range(2000)}
    assert len(keys) == 2000
    bodies_seen = "".join(k[3:-6] for k in keys)
    # every base62 character shows up: the body uses the whole alphabet
    assert set(bodies_seen) == set(keyformat.ALPHABET)


def test_bad_prefixes_are_refused() -> None:
    for prefix in ("", "Ks", "9ks", "k-s", "a" * 33):
        try:
            keyformat.generate(prefix)
        except ValidationError as exc:
            assert exc.field == "prefix"
        else:
            raise AssertionError(f"{prefix!r} was accepted")


def test_redact_keys_hides_keys_and_keeps_ids() -> None:
    key = keyformat.generate("acme_live")
    root = keyformat.generate("ksroot")
    line = f"GET /v1/keys/{key} and /v1/keys/key_01JZ8Q3V6N2X7R4M5T9K0W1B2C ({root})"
    redacted = keyformat.redact_keys(line)
    assert key not in redacted and root not in redacted
    assert redacted.count(keyformat.REDACTED) == 2
    assert "key_01JZ8Q3V6N2X7R4M5T9K0W1B2C" in redacted
