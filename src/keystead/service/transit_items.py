"""The items of a transit call (``plaintext`` or ``ciphertext``, ``key_version``,
``associated_data``, ``reference``), checked one by one: in a ``batch_input`` a bad
item gets its own error and the others are still served, as in Vault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keystead.core.transit import (
    MAX_BATCH,
    check_version_number,
    decode_b64,
    parse_ciphertext,
)
from keystead.errors import PayloadTooLarge, ValidationError


@dataclass(frozen=True, slots=True)
class TransitResult:
    """One item's answer: a ciphertext (encrypt, rewrap, datakey), a base64
    plaintext (decrypt, datakey ``plaintext``; its repr never shows it) or an error."""

    ciphertext: str | None = None
    plaintext: str | None = field(default=None, repr=False)
    key_version: int | None = None
    error: str | None = None
    reference: str | None = None


@dataclass(slots=True)
class Item:
    """A checked item. ``version``: the key version asked for (encrypt, 0: latest) or
    the one a ciphertext names (decrypt, rewrap)."""

    reference: str | None = None
    plaintext: bytes | None = field(default=None, repr=False)
    payload: bytes | None = field(default=None, repr=False)
    version: int = 0
    associated: bytes | None = field(default=None, repr=False)
    error: str | None = None
    target_version: int = 0
    """Rewrap: the version to encrypt under (0: the latest)."""


def batch(items: object) -> list[Mapping[str, Any]]:
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise ValidationError("batch_input is a list of objects", field="batch_input")
    if not items:
        raise ValidationError("missing batch input to process", field="batch_input")
    if len(items) > MAX_BATCH:
        raise PayloadTooLarge(f"batch_input has at most {MAX_BATCH} items", field="batch_input")
    if not all(isinstance(item, Mapping) for item in items):
        raise ValidationError("batch_input is a list of objects", field="batch_input")
    return list(items)


def for_encrypt(raw: Mapping[str, Any]) -> Item:
    item = _common(raw)
    if item.error is not None:
        return item
    try:
        if raw.get("plaintext") is None:
            raise ValidationError("missing plaintext to encrypt", field="plaintext")
        item.plaintext = decode_b64(raw["plaintext"], "plaintext")
        item.version = _version(raw.get("key_version"), "key_version")
    except ValidationError as exc:
        item.error = exc.detail
    return item


def for_decrypt(raw: Mapping[str, Any], *, rewrap: bool = False) -> Item:
    item = _common(raw)
    if item.error is not None:
        return item
    try:
        item.version, item.payload = parse_ciphertext(raw.get("ciphertext"))
        if rewrap:
            item.target_version = _version(raw.get("key_version"), "key_version")
    except ValidationError as exc:
        item.error = exc.detail
    return item


def _common(raw: Mapping[str, Any]) -> Item:
    item = Item()
    reference = raw.get("reference")
    item.reference = reference if isinstance(reference, str) else None
    try:
        if raw.get("context") not in (None, ""):
            raise ValidationError(
                "context is only for derived keys, which Keystead's transit does not serve",
                field="context",
            )
        if raw.get("nonce") not in (None, ""):
            raise ValidationError(
                "a nonce is only for convergent encryption, which Keystead's transit does "
                "not serve",
                field="nonce",
            )
        if raw.get("associated_data") not in (None, ""):
            item.associated = decode_b64(raw["associated_data"], "associated_data")
    except ValidationError as exc:
        item.error = exc.detail
    return item


def _version(value: object, field: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return check_version_number(value, field)


__all__ = ["Item", "TransitResult", "batch", "for_decrypt", "for_encrypt"]
