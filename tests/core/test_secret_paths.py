"""Secret addressing: mounts, paths and references are canonical, or a ValidationError."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.core.secret_paths import (
    MAX_MOUNT_LENGTH,
    MAX_PATH_LENGTH,
    MAX_SEGMENT_LENGTH,
    MAX_SEGMENTS,
    REFERENCE_SCHEME,
    SecretRef,
    normalize_field,
    normalize_mount,
    normalize_path,
    parse_reference,
)
from keystead.errors import ValidationError

# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_path", "canonical"),
    [
        ("payments", "payments"),
        ("payments/stripe", "payments/stripe"),
        ("/payments/stripe", "payments/stripe"),  # one leading and one trailing '/' trimmed
        ("payments/stripe/", "payments/stripe"),
        ("/payments/", "payments"),
        ("app.prod/db-main/user@host", "app.prod/db-main/user@host"),
        ("a=b,c~d_e", "a=b,c~d_e"),
        ("...a/b..c", "...a/b..c"),  # dots inside a segment are ordinary characters
        ("équipe/clé", "équipe/clé"),
        ("e\u0301quipe", "\u00e9quipe"),  # NFD is normalised to NFC
        ("Ω/Ｓ", "Ω/Ｓ"),  # noqa: RUF001 - Greek and fullwidth letters are letters
        ("日本/秘密", "日本/秘密"),
        ("/".join(["s"] * MAX_SEGMENTS), "/".join(["s"] * MAX_SEGMENTS)),
        ("a" * MAX_SEGMENT_LENGTH, "a" * MAX_SEGMENT_LENGTH),
    ],
)
def test_paths_are_returned_in_canonical_form(given_path: str, canonical: str) -> None:
    assert normalize_path(given_path) == canonical
    assert normalize_path(canonical) == canonical


HOSTILE_PATHS = [
    # (path, reason)
    ("", "is empty"),
    ("/", "is empty"),
    ("//", "is empty"),
    ("..", "dot segment"),
    (".", "dot segment"),
    ("...", "dot segment"),
    ("payments/../admin", "dot segment '..'"),
    ("payments/./stripe", "dot segment '.'"),
    ("../secret", "dot segment"),
    ("payments/..", "dot segment"),
    ("a//b", "empty segment"),
    ("//a", "empty segment"),
    ("a//", "empty segment"),
    ("a\\b", "backslash"),
    ("..\\admin", "backslash"),
    ("a\x00b", "control"),
    ("a\nb", "control"),
    ("a\tb", "control"),
    ("a\x7fb", "control"),
    ("a\u0085b", "control"),
    ("a b", "U+0020"),
    ("a\u00a0b", "U+00A0"),
    ("a\u200bb", "U+200B"),  # zero-width space
    ("a\u202eb", "U+202E"),  # right-to-left override
    ("a\ufeffb", "U+FEFF"),
    ("a\u2028b", "U+2028"),
    ("a\ud800b", "U+D800"),  # lone surrogate
    ("%2e%2e/admin", "'%'"),
    ("%2E%2E", "'%'"),
    ("a%2fb", "'%'"),
    ("a%2Fb", "'%'"),
    ("a%00b", "'%'"),
    ("a%5cb", "'%'"),
    ("%252e%252e", "'%'"),
    ("100%", "'%'"),
    ("a/*", "'*'"),
    ("a?b", "'?'"),
    ("a#b", "'#'"),
    ("a:b", "':'"),
    ("a+b", "'+'"),
    ("a\uff0fb", "'\uff0f'"),  # fullwidth solidus looks like a separator
    ("\uff0e\uff0e/admin", "'\uff0e'"),  # fullwidth full stops
    ("a\u2215b", "'\u2215'"),  # division slash
    ("a" * (MAX_SEGMENT_LENGTH + 1), f"longer than {MAX_SEGMENT_LENGTH}"),
    ("/".join(["s"] * (MAX_SEGMENTS + 1)), f"more than {MAX_SEGMENTS} segments"),
    ("/".join(["a" * 100] * 6), f"longer than {MAX_PATH_LENGTH}"),
    ("a" * 100_000, f"longer than {MAX_PATH_LENGTH}"),
]


@pytest.mark.parametrize(("path", "reason"), HOSTILE_PATHS)
def test_hostile_paths_are_refused_with_a_reason(path: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)) as refused:
        normalize_path(path)
    assert refused.value.field == "path"
    assert 400 <= refused.value.status < 500


def test_a_path_that_is_not_a_string_is_a_validation_error() -> None:
    for value in (None, 1, b"payments", ["payments"]):
        with pytest.raises(ValidationError):
            normalize_path(value)


def test_the_mount_itself_is_a_path_only_when_asked_for() -> None:
    assert normalize_path("", allow_root=True) == ""
    assert normalize_path("/", allow_root=True) == ""
    with pytest.raises(ValidationError):
        normalize_path("//", allow_root=True)
    with pytest.raises(ValidationError):
        normalize_path("", field="secret_path")


def test_the_field_named_in_the_error_is_the_callers() -> None:
    with pytest.raises(ValidationError) as refused:
        normalize_path("a/../b", field="data.path")
    assert refused.value.field == "data.path"


def test_an_error_message_never_echoes_a_long_path_whole() -> None:
    with pytest.raises(ValidationError) as refused:
        normalize_path("x" * 300 + "/../y")
    assert len(str(refused.value)) < 200


# --- mounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mount", ["secret", "kv", "kv-2", "team_a", "0", "a" * MAX_MOUNT_LENGTH])
def test_valid_mounts(mount: str) -> None:
    assert normalize_mount(mount) == mount


@pytest.mark.parametrize(
    "mount",
    [
        "",
        "Secret",
        "-kv",
        "_kv",
        "kv/2",
        "kv.2",
        "..",
        "kv 2",
        "kv\x00",
        "kv%2f",
        "ķv",
        "a" * (MAX_MOUNT_LENGTH + 1),
        "sys",
        "auth",
        "identity",
        "cubbyhole",
        None,
    ],
)
def test_invalid_or_reserved_mounts_are_refused(mount: str | None) -> None:
    with pytest.raises(ValidationError) as refused:
        normalize_mount(mount)
    assert refused.value.field == "mount"


# --- references --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "parsed"),
    [
        ("secret/payments#stripe_key", SecretRef("secret", "payments", "stripe_key")),
        ("keystead://secret/payments#stripe_key", SecretRef("secret", "payments", "stripe_key")),
        ("KEYSTEAD://secret/payments#stripe_key", SecretRef("secret", "payments", "stripe_key")),
        ("kv/team/app/db#password", SecretRef("kv", "team/app/db", "password")),
        ("secret/payments", SecretRef("secret", "payments", None)),
        ("secret/payments/#key", SecretRef("secret", "payments", "key")),
        ("secret/caf\u0065\u0301#cl\u0065\u0301", SecretRef("secret", "café", "clé")),
    ],
)
def test_references_split_into_mount_path_and_field(reference: str, parsed: SecretRef) -> None:
    assert parse_reference(reference) == parsed


def test_a_reference_prints_as_it_parses() -> None:
    ref = parse_reference("keystead://secret/payments/stripe#api_key")
    assert str(ref) == "secret/payments/stripe#api_key"
    assert parse_reference(str(ref)) == ref
    assert str(SecretRef("secret", "payments")) == "secret/payments"


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "secret",
        "secret/",
        "secret#key",
        "/secret/payments#key",
        "keystead://",
        "keystead:/secret/payments#key",
        "https://secret/payments#key",
        "secret/payments#",
        "secret/payments#a#b",
        "secret/payments#a/b",
        "secret/payments?version=2#key",
        "secret/payments/../admin#key",
        "secret/%2e%2e/admin#key",
        "sys/mounts#key",
        "keystead://secret/a//b#key",
        "secret/payments#" + "k" * 200,
        "secret/" + "a/" * 1000 + "#k",
    ],
)
def test_bad_references_are_refused(reference: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_reference(reference)
    assert refused.value.field == "reference"


def test_field_names_follow_the_segment_rules() -> None:
    assert normalize_field("DB-PASSWORD") == "DB-PASSWORD"
    assert normalize_field("tls.crt") == "tls.crt"
    for bad in ("", "..", "a b", "a/b", "a\x00", "%41", None):
        with pytest.raises(ValidationError):
            normalize_field(bad)


# --- fuzz --------------------------------------------------------------------------------------

_SEPARATOR_LIKE = re.compile(r"(^|/)\.+(/|$)|//|[\\%*\x00-\x1f\x7f]")


def _assert_canonical(path: str) -> None:
    assert path and not path.startswith("/") and not path.endswith("/")
    assert _SEPARATOR_LIKE.search(path) is None
    assert unicodedata.normalize("NFC", path) == path
    assert len(path) <= MAX_PATH_LENGTH
    assert normalize_path(path) == path  # idempotent


_PIECES = st.sampled_from(
    ["a", "/", ".", "..", "%", "%2e", "%2f", "%00", "%25", "\\", "\x00", "\u0301", "é", "~", " "]
)


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=80), st.lists(_PIECES, max_size=12).map("".join)))
def test_any_text_is_a_canonical_path_or_a_validation_error(text: str) -> None:
    for candidate in (text, unquote(text)):  # what the HTTP layer would hand over
        try:
            path = normalize_path(candidate)
        except ValidationError as refused:
            assert refused.field == "path"
        else:
            _assert_canonical(path)


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_any_text_is_a_reference_or_a_validation_error(text: str) -> None:
    for candidate in (text, REFERENCE_SCHEME + text, "secret/" + text):
        try:
            ref = parse_reference(candidate)
        except ValidationError:
            continue
        normalize_mount(ref.mount)
        _assert_canonical(ref.path)
