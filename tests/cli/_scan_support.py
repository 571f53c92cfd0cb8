"""Test material for ``keystead scan``: secrets made at run time, so that no
file of this repository carries one."""

from __future__ import annotations

from keystead.core import keyformat


def keystead_key(prefix: str = "acme") -> str:
    """A fresh Keystead key with a valid CRC-32 checksum."""
    return keyformat.generate(prefix)


def broken_key(prefix: str = "acme") -> str:
    """A Keystead-shaped string whose checksum is wrong: never a finding."""
    key = keyformat.generate(prefix)
    return key[:-1] + ("A" if key[-1] != "A" else "B")


__all__ = ["broken_key", "keystead_key"]
