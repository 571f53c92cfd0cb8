"""Denials of tokens, as an in-memory state and as a signed document's claims."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Denial:
    seq: int
    kind: str
    subject: str
    not_before: float
    expires_at: float
    aud: str | None = None


class RevocationState:
    """The denials of one API, as an offline verifier consults them."""

    def __init__(self) -> None:
        self.seq = 0

    def apply(self, denials: Iterable[Denial]) -> None:
        raise NotImplementedError

    def refuses(self, claims: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def prune(self, now: float) -> None:
        raise NotImplementedError


def document_claims(
    *,
    issuer: str,
    api_id: str,
    denials: Sequence[Denial],
    seq: int,
    since: int | None,
    issued_at: float,
    ttl_s: int = 60,
) -> dict[str, Any]:
    raise NotImplementedError


def denials_of_document(claims: Mapping[str, Any]) -> tuple[int, int | None, list[Denial]]:
    raise NotImplementedError


__all__ = ["Denial", "RevocationState", "denials_of_document", "document_claims"]
