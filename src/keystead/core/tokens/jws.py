"""JWS compact serialization: parsing and verification of tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keystead.core.tokens.keys import VerifyingKey

MAX_TOKEN_BYTES = 8192


@dataclass(frozen=True, slots=True)
class ParsedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    kid: str | None
    alg: str | None


def looks_like_jwt(credential: str) -> bool:
    raise NotImplementedError


def parse(token: str) -> ParsedToken:
    raise NotImplementedError


def verified(token: str, keys: Callable[[str | None], VerifyingKey | None]) -> ParsedToken:
    raise NotImplementedError


__all__ = ["MAX_TOKEN_BYTES", "ParsedToken", "looks_like_jwt", "parse", "verified"]
