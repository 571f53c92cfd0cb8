"""The public documents of an API's tokens: its JWKS and its signed revocation
document. Neither needs a credential; both carry a strong ETag."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from keystead.core.tokens import Denial, document_claims
from keystead.core.tokens.revocation import DOCUMENT_TYPE
from keystead.errors import NotFound, ValidationError
from keystead.service.context import ServiceContext
from keystead.service.tokens.denials import api_of, policy_of
from keystead.service.tokens.signing import SigningKeys
from keystead.store.tokens import DenialRecord, SigningKeyRecord


class TokenDocuments:
    def __init__(
        self, ctx: ServiceContext, signing: SigningKeys, issuer: Callable[[str], str]
    ) -> None:
        self._ctx = ctx
        self._signing = signing
        self._issuer = issuer

    async def jwks(self, api_id: str | None) -> tuple[dict[str, Any], str]:
        """``({"keys": [...]}, etag)``: the API's published public keys (every
        API's with None): the one that signs and the retired ones until their
        ``publish_until``. HS256 secrets are never published. An API that never
        issued a token (or does not exist) has none."""
        records = await self._ctx.store.list_signing_keys(api_id)
        keys = [r.public_jwk for r in published(records, self._ctx.clock.now())]
        body = {"keys": keys}
        return body, strong_etag(body)

    async def revocation_document(self, api_id: str, since: int | None) -> tuple[str, str]:
        """``(JWS, etag)``: the API's denials (those after ``since`` with it),
        signed by its current key; the ETag is ``"<seq>-<kid>"``. NotFound for an
        API that has no signing key (it never issued a token) or signs with an
        HS256 secret (remote verifiers cannot check its tokens either)."""
        if since is not None and (type(since) is not int or since < 0):
            raise ValidationError("since is a whole number, 0 or more", field="since")
        record = await self._signing.in_use(api_id)
        if record is None:
            raise NotFound(f"the API '{api_id}' has issued no tokens")
        if record.public_jwk is None:  # nobody outside could check its signature
            raise NotFound(
                f"the API '{api_id}' signs with a shared secret (HS256): its tokens verify "
                "in-process only, and it publishes no revocation document"
            )
        api = await api_of(self._ctx, record.workspace_id, api_id)
        if api is None:
            raise NotFound(f"the API '{api_id}' has issued no tokens")
        signer = await self._signing.signer(api, policy_of(api))
        stored = await self._ctx.store.list_denials(api_id)
        seq = max((d.seq for d in stored), default=0)
        now = self._ctx.clock.now()
        claims = document_claims(
            issuer=self._issuer(api_id),
            api_id=api_id,
            denials=[core_denial(d) for d in stored if d.expires_at > now],
            seq=seq,
            since=since,
            issued_at=now,
        )
        return signer.sign(claims, typ=DOCUMENT_TYPE), f'"{seq}-{signer.kid}"'


def published(records: Sequence[SigningKeyRecord], now: float) -> list[SigningKeyRecord]:
    """The records whose public key is in the JWKS at ``now``."""
    at = datetime.fromtimestamp(now, UTC)
    return [
        r
        for r in records
        if r.public_jwk is not None
        and (r.retired_at is None or (r.publish_until is not None and r.publish_until > at))
    ]


def core_denial(record: DenialRecord) -> Denial:
    return Denial(
        seq=record.seq,
        kind=record.kind,
        subject=record.subject,
        not_before=record.not_before,
        expires_at=record.expires_at,
        aud=record.aud,
    )


def strong_etag(body: object) -> str:
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f'"{digest[:32]}"'


__all__ = ["TokenDocuments", "core_denial", "published", "strong_etag"]
