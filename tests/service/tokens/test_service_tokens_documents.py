"""The public documents: the JWKS (strong ETag from its content) and the signed
revocation document (ETag ``"<seq>-<kid>"``, deltas with ``since``)."""

from __future__ import annotations

import pytest
from token_support import Setup, given

from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenPolicy, VerifyingKey
from keystead.core.tokens.revocation import verified_document
from keystead.errors import NotFound, ValidationError
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest


async def issue(s: Setup) -> Issued:
    issued = await s.ks.tokens.exchange(s.key, VerifyContext(), TokenRequest())
    assert isinstance(issued, Issued)
    return issued


async def test_the_jwks_etag_follows_its_content(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    await issue(s)
    body, etag = await s.ks.tokens.jwks(s.api.id)
    assert (await s.ks.tokens.jwks(s.api.id))[1] == etag
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    everything, _ = await s.ks.tokens.jwks(None)
    assert everything == body
    await s.ks.tokens.rotate_signing_key(s.root, s.api.id)
    assert (await s.ks.tokens.jwks(s.api.id))[1] != etag


async def test_the_revocation_document(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    with pytest.raises(NotFound):
        await s.ks.tokens.revocation_document(s.api.id, None)
    first, second = await issue(s), await issue(s)
    text, etag = await s.ks.tokens.revocation_document(s.api.id, None)
    [jwk] = (await s.ks.tokens.jwks(s.api.id))[0]["keys"]
    key = VerifyingKey.from_jwk(jwk)

    def keys(kid: str | None) -> VerifyingKey | None:
        return key if kid == key.kid else None

    issuer = s.ks.tokens.issuer(s.api.id)
    assert verified_document(text, keys, issuer=issuer, api_id=s.api.id) == (0, None, [])
    assert etag == f'"0-{first.kid}"'
    await s.ks.tokens.revoke_jti(s.root, s.api.id, first.jti, first.expires_at)
    await s.ks.keys.revoke(s.root, s.key_id)
    text, etag = await s.ks.tokens.revocation_document(s.api.id, None)
    seq, since, denials = verified_document(text, keys, issuer=issuer, api_id=s.api.id)
    assert [(d.kind, d.subject) for d in denials] == [("jti", first.jti), ("key", s.key_id)]
    assert since is None and seq == denials[-1].seq and etag == f'"{seq}-{first.kid}"'
    delta, _ = await s.ks.tokens.revocation_document(s.api.id, denials[0].seq)
    _, since, only = verified_document(delta, keys, issuer=issuer, api_id=s.api.id)
    assert since == denials[0].seq and [d.subject for d in only] == [s.key_id]
    assert second.jti not in text
    with pytest.raises(ValidationError):
        await s.ks.tokens.revocation_document(s.api.id, -1)


async def test_an_hs256_api_publishes_no_document(vault: Keystead) -> None:
    s = await given(vault)
    await s.ks.tokens.set_policy(s.root, s.api.id, TokenPolicy(algorithm="HS256"))
    await issue(s)
    with pytest.raises(NotFound, match="HS256"):
        await s.ks.tokens.revocation_document(s.api.id, None)
