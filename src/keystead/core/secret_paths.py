"""Where a secret lives: a mount, a slash-separated path and, in a reference, a field.

The vault addresses secrets as Vault KV v2 does: ``secret/payments/stripe`` is the
secret ``payments/stripe`` of the mount ``secret``. A reference adds a field of the
secret's JSON object: ``secret/payments#stripe_key`` or
``keystead://secret/payments#stripe_key``.

Every rule is here, as named constants, so that the HTTP schemas, the Vault face and
the permission syntax (``secrets.read:secret/payments/*``) apply the same ones:

- A **mount** is 1-64 characters of ``a-z 0-9 _ -`` starting with a letter or digit;
  Vault's own top-level names (``sys``, ``auth``, ...) are reserved.
- A **path** is 1-32 segments joined by ``/``, at most 512 characters in all, each
  segment at most 128. One leading and one trailing ``/`` are trimmed, as Vault does
  (``/payments/stripe/`` is ``payments/stripe``); any other empty segment (``a//b``,
  ``//a``) is refused. A segment holds letters, combining marks and digits of any
  script, and ``_ - . @ = , ~``; a segment of dots only (``.``, ``..``, ``...``) is
  refused, so is every other character: controls and NUL, spaces, ``\\``, ``*``,
  ``?``, ``#``, ``:``, ``+``.
- **``%`` is refused outright.** The HTTP layer decodes a request path once; a ``%``
  still present after that is a second layer of encoding (``%252e%252e``) or a
  literal percent sign, and refusing both is simpler to get right than deciding which
  decoded forms would be harmless.
- **Unicode is normalised to NFC** before the rules are applied, so ``café`` typed
  on two keyboards is one secret. Only letters, marks and digits are allowed beyond
  ASCII, which keeps out look-alike separators (fullwidth solidus U+FF0F, fullwidth
  full stop U+FF0E), bidi controls and zero-width characters. A permission string is
  not normalised: its path must be written in NFC (the permission syntax refuses any
  other form), so what is stored is what matches.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

from keystead.errors import ValidationError

DEFAULT_MOUNT = "secret"
MAX_MOUNT_LENGTH = 64
MOUNT_PATTERN = r"[a-z0-9][a-z0-9_\-]{0,63}"
RESERVED_MOUNTS = frozenset({"auth", "cubbyhole", "identity", "sys"})
MAX_PATH_LENGTH = 512
MAX_SEGMENTS = 32
MAX_SEGMENT_LENGTH = 128
MAX_FIELD_LENGTH = 128
SEGMENT_PUNCTUATION = "_-.@=,~"
REFERENCE_SCHEME = "keystead://"
MAX_REFERENCE_LENGTH = len(REFERENCE_SCHEME) + MAX_MOUNT_LENGTH + 1 + MAX_PATH_LENGTH + 1 + 128

_MOUNT_RE = re.compile(MOUNT_PATTERN)
_ASCII_SEGMENT_RE = re.compile(r"[A-Za-z0-9_\-.@=,~]+")
_ALLOWED_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd"})
_NAMED = {"%": "'%' (percent-encoding is decoded once, by the HTTP layer)", "\\": "a backslash"}
_NAMED.update({"*": "'*' (a glob, only in permissions)", "/": "'/'"})


def _preview(text: str, limit: int = 40) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _char_problem(ch: str) -> str:
    if ch in _NAMED:
        return f"has {_NAMED[ch]}"
    category = unicodedata.category(ch)
    if category[0] in "CZ":
        return f"has a control, format or space character (U+{ord(ch):04X})"
    return f"has the character {ch!r} (allowed: letters, digits and {SEGMENT_PUNCTUATION})"


def segment_problem(segment: str) -> str | None:
    """Why ``segment`` (already NFC) is not a path segment, or None when it is one."""
    if not segment:
        return "has an empty segment ('//')"
    if len(segment) > MAX_SEGMENT_LENGTH:
        return f"has a segment longer than {MAX_SEGMENT_LENGTH} characters"
    if segment.strip(".") == "":
        return f"has the dot segment {_preview(segment)}"
    if segment.isascii() and _ASCII_SEGMENT_RE.fullmatch(segment):
        return None
    for ch in segment:
        if ch in SEGMENT_PUNCTUATION or (ch.isascii() and ch.isalnum()):
            continue
        if ch.isascii() or unicodedata.category(ch) not in _ALLOWED_CATEGORIES:
            return _char_problem(ch)
    return None


def segments_problem(text: str, *, glob: bool = False) -> str | None:
    """Why canonical ``text`` (NFC, no slash at either end) is not a path, or None.

    With ``glob``, a segment may also be ``*`` (see ``keystead.core.secret_grants``).
    """
    if not text:
        return "is empty"
    if len(text) > MAX_PATH_LENGTH:
        return f"is longer than {MAX_PATH_LENGTH} characters"
    segments = text.split("/")
    if len(segments) > MAX_SEGMENTS:
        return f"has more than {MAX_SEGMENTS} segments"
    for segment in segments:
        if glob and "*" in segment:
            if segment == "*":
                continue
            if segment == "**":
                return "has '**': a final '/*' already matches every depth"
            return f"segment {_preview(segment)} mixes '*' with other characters"
        problem = segment_problem(segment)
        if problem is not None:
            return problem
    return None


def normalize_mount(mount: object, *, field: str = "mount") -> str:
    """``mount`` if it is a valid mount name (the charset is ASCII: no normalisation)."""
    if not isinstance(mount, str):
        raise ValidationError("a mount is a string", field=field)
    if _MOUNT_RE.fullmatch(mount) is None:
        raise ValidationError(
            f"invalid mount {_preview(mount)}: 1-{MAX_MOUNT_LENGTH} characters of a-z 0-9 _ -, "
            "starting with a letter or digit",
            field=field,
        )
    if mount in RESERVED_MOUNTS:
        raise ValidationError(f"the mount name '{mount}' is reserved", field=field)
    return mount


def normalize_path(path: object, *, allow_root: bool = False, field: str = "path") -> str:
    """The canonical form of a secret path: NFC, one leading/trailing ``/`` trimmed.

    ``allow_root`` accepts the empty path (the mount itself), which only listing needs.
    Raises ValidationError naming ``field`` for anything else the module doc refuses.
    """
    if not isinstance(path, str):
        raise ValidationError("a path is a string", field=field)
    if len(path) > MAX_PATH_LENGTH + 2:  # bound the work before normalising
        raise ValidationError(f"path is longer than {MAX_PATH_LENGTH} characters", field=field)
    is_root, canonical, problem = _canonical(path)
    if allow_root and is_root:
        return ""
    if problem is not None:
        raise ValidationError(f"invalid path {_preview(path)}: {problem}", field=field)
    return canonical


@functools.lru_cache(maxsize=1024)
def _canonical(path: str) -> tuple[bool, str, str | None]:
    """(the mount itself?, the canonical form, what is wrong with it): remembered,
    as every read of a secret normalises its path again."""
    nfc = unicodedata.normalize("NFC", path)
    canonical = nfc.removeprefix("/").removesuffix("/")
    return nfc in ("", "/"), canonical, segments_problem(canonical)


def normalize_field(name: object, *, field: str = "field") -> str:
    """A field of a secret's value, in NFC; the characters allowed are those of a segment."""
    if not isinstance(name, str):
        raise ValidationError("a field name is a string", field=field)
    if len(name) > MAX_FIELD_LENGTH:
        raise ValidationError(
            f"field name is longer than {MAX_FIELD_LENGTH} characters", field=field
        )
    canonical = unicodedata.normalize("NFC", name)
    problem = "is empty" if not canonical else segment_problem(canonical)
    if problem is not None:
        raise ValidationError(f"invalid field name {_preview(name)}: {problem}", field=field)
    return canonical


class SecretRef(NamedTuple):
    """A secret, or one field of it: ``mount/path`` or ``mount/path#field``."""

    mount: str
    path: str
    field: str | None = None

    def __str__(self) -> str:
        tail = "" if self.field is None else f"#{self.field}"
        return f"{self.mount}/{self.path}{tail}"


def parse_reference(text: object, *, field: str = "reference") -> SecretRef:
    """Split ``[keystead://]mount/path[#field]`` into its parts, each validated.

    The mount is always written (a reference is read far from any default); the scheme
    is matched without regard to case. ``?`` and a second ``#`` are refused by the
    character rules.
    """
    if not isinstance(text, str):
        raise ValidationError("a secret reference is a string", field=field)
    if len(text) > MAX_REFERENCE_LENGTH:
        raise ValidationError(
            f"reference is longer than {MAX_REFERENCE_LENGTH} characters", field=field
        )
    scheme = len(REFERENCE_SCHEME)
    rest = text[scheme:] if text[:scheme].lower() == REFERENCE_SCHEME else text
    address, hash_mark, name = rest.partition("#")
    mount, slash, path = address.partition("/")
    if not slash or not path:
        raise ValidationError(
            f"invalid reference {_preview(text)}: expected mount/path#field, "
            "e.g. secret/payments#stripe_key",
            field=field,
        )
    return SecretRef(
        normalize_mount(mount, field=field),
        normalize_path(path, field=field),
        normalize_field(name, field=field) if hash_mark else None,
    )


__all__ = [
    "DEFAULT_MOUNT",
    "MAX_FIELD_LENGTH",
    "MAX_MOUNT_LENGTH",
    "MAX_PATH_LENGTH",
    "MAX_REFERENCE_LENGTH",
    "MAX_SEGMENTS",
    "MAX_SEGMENT_LENGTH",
    "MOUNT_PATTERN",
    "REFERENCE_SCHEME",
    "RESERVED_MOUNTS",
    "SEGMENT_PUNCTUATION",
    "SecretRef",
    "normalize_field",
    "normalize_mount",
    "normalize_path",
    "parse_reference",
    "segment_problem",
    "segments_problem",
]
