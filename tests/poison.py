"""The poison-value table: text no store can hold as it is, or that a careless
pipeline chokes on. Tests of every path that reaches the store (verify context,
usage reports, management fields, middleware, gateway) parametrize over it and
run on every store; the rule they prove: a clear 4xx problem+json (or, for an end
user's request through a middleware or the gateway, a cleaned value), never a
500, and the store keeps working afterwards."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

MEGABYTE = 1_000_000


@dataclass(frozen=True)
class Poison:
    name: str
    text: str
    storable: bool
    """True when a store holds the text as it is (only its length may refuse it)."""

    @property
    def long(self) -> bool:
        return len(self.text) >= MEGABYTE


POISONS = [
    Poison("nul", "/a\x00b", storable=False),
    Poison("nul-only", "\x00", storable=False),
    Poison("lone-high-surrogate", "/a\ud800b", storable=False),
    Poison("lone-low-surrogate", "\udfff", storable=False),
    Poison("1mb", "/" + "x" * MEGABYTE, storable=True),
    Poison("1mb-nul", "\x00" * MEGABYTE, storable=False),
    Poison("control", "/a\x01\x1b[31m\x7f\r\nb\t", storable=True),
]
POISON_PARAMS = [pytest.param(p, id=p.name) for p in POISONS]

RAW_HEADER_VALUES = [
    pytest.param(b"agent\x00nul", id="nul"),
    pytest.param(b"\xff\xfe\xfd invalid utf-8", id="invalid-utf8"),
    pytest.param(b"\xed\xa0\x80 encoded surrogate", id="encoded-surrogate"),
    pytest.param(b"\x01\x1b[31m\x7f", id="control"),
    pytest.param(b"x" * 60_000, id="60kb"),
]
"""Header values as bytes on the wire (servers refuse headers of a megabyte)."""


def hostile_json(**fields: Any) -> bytes:
    """A JSON body as a hostile client writes it: lone surrogates as ``\\ud800``
    escapes (which ``json.dumps`` produces and orjson refuses to)."""
    return json.dumps(fields, ensure_ascii=True).encode()


def cleaned(value: str) -> bool:
    """A text every store can hold: no NUL character and no lone surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


__all__ = [
    "MEGABYTE",
    "POISONS",
    "POISON_PARAMS",
    "RAW_HEADER_VALUES",
    "Poison",
    "cleaned",
    "hostile_json",
]
