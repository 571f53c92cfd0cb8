"""Denials of tokens: the in-memory state a verifier consults, and the claims of
the signed revocation document remote verifiers fetch.

Two kinds of denial, keyed on what a token says, never on its text (an ECDSA
signature has two valid forms, and a token may be re-encoded):

- ``key``: the API key ``subject`` was revoked, disabled, rotated or deleted at
  ``not_before``; its tokens issued before then (``iat < not_before``) are
  refused. A later denial of the same key moves the watermark forward.
- ``jti``: the one token ``subject`` is refused (for audience ``aud`` only, when
  set).

``expires_at`` is when the denial stops mattering (every token it could refuse
has expired), so ``prune`` may drop it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keystead.core.tokens.errors import TokenRefused
from keystead.core.tokens.jws import verified
from keystead.core.tokens.keys import VerifyingKey

KINDS: tuple[str, ...] = ("key", "jti")
DOCUMENT_TYPE = "revocations+jwt"
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""A revocation document may be far larger than an access token."""


@dataclass
class Denial:
    seq: int
    kind: str
    subject: str
    not_before: float
    expires_at: float
    aud: str | None = None

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": self.seq,
            "kind": self.kind,
            "subject": self.subject,
            "not_before": self.not_before,
            "expires_at": self.expires_at,
        }
        if self.aud is not None:
            entry["aud"] = self.aud
        return entry


class RevocationState:
    """The denials of one API, as a verifier consults them: per key the latest
    watermark, per jti the denied audiences (``None``: all of them). ``seq`` is
    the highest sequence applied, what to ask the next delta ``since``."""

    __slots__ = ("_jtis", "_keys", "seq")

    def __init__(self, denials: Iterable[Denial] = ()) -> None:
        self.seq = 0
        self._keys: dict[str, tuple[float, float]] = {}
        """key id -> (not_before, expires_at)"""
        self._jtis: dict[str, dict[str | None, float]] = {}
        """jti -> {aud or None: expires_at}"""
        self.apply(denials)

    def __len__(self) -> int:
        return len(self._keys) + sum(len(auds) for auds in self._jtis.values())

    def apply(self, denials: Iterable[Denial]) -> None:
        """Add denials (a full load or a delta, in any order; applying one twice
        changes nothing)."""
        for denial in denials:
            if denial.kind == "key":
                before, until = self._keys.get(denial.subject, (denial.not_before, 0.0))
                self._keys[denial.subject] = (
                    max(before, denial.not_before),
                    max(until, denial.expires_at),
                )
            elif denial.kind == "jti":
                auds = self._jtis.setdefault(denial.subject, {})
                auds[denial.aud] = max(auds.get(denial.aud, 0.0), denial.expires_at)
            else:
                raise TokenRefused("claims", f"unknown denial kind {denial.kind!r}")
            if denial.seq > self.seq:
                self.seq = denial.seq

    def refuses(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token's claims are denied: its key's watermark is
        after its ``iat`` (a missing ``iat`` counts as before), or its ``jti``
        is denied for every audience or for one of the token's."""
        if self._keys:
            sub = claims.get("sub")
            entry = self._keys.get(sub) if type(sub) is str else None
            if entry is not None:
                iat = claims.get("iat")
                if not (type(iat) is int or type(iat) is float) or iat < entry[0]:
                    return True
        if self._jtis:
            jti = claims.get("jti")
            auds = self._jtis.get(jti) if type(jti) is str else None
            if auds is not None:
                if None in auds:
                    return True
                aud = claims.get("aud")
                members = aud if type(aud) is list else (aud,)
                return any(type(member) is str and member in auds for member in members)
        return False

    def prune(self, now: float) -> None:
        """Drop the denials whose ``expires_at`` has passed."""
        self._keys = {sub: entry for sub, entry in self._keys.items() if entry[1] > now}
        jtis: dict[str, dict[str | None, float]] = {}
        for jti, auds in self._jtis.items():
            kept = {aud: until for aud, until in auds.items() if until > now}
            if kept:
                jtis[jti] = kept
        self._jtis = jtis


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
    """The claims of an API's revocation document: the denials with ``seq`` over
    ``since`` (all of them when ``since`` is None), and ``seq``, the highest
    sequence the document covers. Sign it with ``typ=DOCUMENT_TYPE``."""
    iat = int(issued_at)
    entries = [d.to_dict() for d in denials if since is None or d.seq > since]
    return {
        "iss": issuer,
        "api_id": api_id,
        "iat": iat,
        "exp": iat + ttl_s,
        "seq": seq,
        "since": since,
        "denials": entries,
    }


def _seq(value: object) -> int:
    if type(value) is not int or value < 0:
        raise TokenRefused("claims", "a sequence is a whole number")
    return value


def _time(value: object) -> float:
    if type(value) is not int and type(value) is not float:
        raise TokenRefused("claims", "a denial's times are numbers")
    return float(value)


def _denial(entry: object) -> Denial:
    if type(entry) is not dict:
        raise TokenRefused("claims", "a denial is an object")
    kind, subject, aud = entry.get("kind"), entry.get("subject"), entry.get("aud")
    if kind not in KINDS or type(subject) is not str or not subject:
        raise TokenRefused("claims", "a denial has a kind and a subject")
    if aud is not None and type(aud) is not str:
        raise TokenRefused("claims", "a denial's aud is a string")
    return Denial(
        seq=_seq(entry.get("seq")),
        kind=kind,
        subject=subject,
        not_before=_time(entry.get("not_before")),
        expires_at=_time(entry.get("expires_at")),
        aud=aud,
    )


def denials_of_document(claims: Mapping[str, Any]) -> tuple[int, int | None, list[Denial]]:
    """``(seq, since, denials)`` of a revocation document's claims; raises
    ``TokenRefused("claims")`` on a bad shape."""
    seq = _seq(claims.get("seq"))
    since = claims.get("since")
    if since is not None and _seq(since) > seq:
        raise TokenRefused("claims", "since is after seq")
    entries = claims.get("denials")
    if type(entries) is not list:
        raise TokenRefused("claims", "denials is a list")
    denials = [_denial(entry) for entry in entries]
    if any(denial.seq > seq for denial in denials):
        raise TokenRefused("claims", "a denial is after the document's seq")
    return seq, since, denials


def verified_document(
    text: str,
    keys: Callable[[str | None], VerifyingKey | None],
    *,
    issuer: str | Collection[str],
    api_id: str | None = None,
) -> tuple[int, int | None, list[Denial]]:
    """``(seq, since, denials)`` of a signed revocation document, its type,
    signature, issuer (and API, when given) checked.

    Its ``exp`` is not: a document answered 304 Not Modified is still current,
    and a verifier judges staleness by when it last refreshed it."""
    token = verified(text, keys, typ=DOCUMENT_TYPE, max_bytes=MAX_DOCUMENT_BYTES)
    claims = token.claims
    iss = claims.get("iss")
    if type(iss) is not str or (iss != issuer if isinstance(issuer, str) else iss not in issuer):
        raise TokenRefused("issuer", "the document is not from the expected issuer")
    if api_id is not None and claims.get("api_id") != api_id:
        raise TokenRefused("claims", "the document is for another API")
    return denials_of_document(claims)


__all__ = [
    "DOCUMENT_TYPE",
    "KINDS",
    "MAX_DOCUMENT_BYTES",
    "Denial",
    "RevocationState",
    "denials_of_document",
    "document_claims",
    "verified_document",
]
