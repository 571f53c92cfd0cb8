"""Offline checks that turn a pattern match into a finding.

A validator takes the matched secret and answers whether it is well formed
beyond what a regex can say: a checksum that matches, a token that decodes, a
key that parses. Rules name their validator in ``rules.toml``; the registry
below is the only place names resolve.
"""

from __future__ import annotations

from collections.abc import Callable

from keystead.core import keyformat


def keystead_checksum(secret: str) -> bool:
    """A Keystead key: right shape and CRC-32 checksum (docs/security.md)."""
    return keyformat.parse(secret) is not None


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "keystead_checksum": keystead_checksum,
}

__all__ = ["VALIDATORS", "keystead_checksum"]
