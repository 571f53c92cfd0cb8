"""Signing keys: made on first issuance with the policy's algorithm, sealed under the
master key (never plaintext in the store), rotated with overlap, removed from the
JWKS (and from verification) after their ``publish_until``; a rewrap covers them."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from token_support import Setup, given

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.core.tokens import LEEWAY_S, TokenPolicy, TokenRefused, VerifyingKey, verified
from keystead.service import Keystead
from keystead.service.tokens import Issued, NoMasterKey, TokenRequest
from keystead.service.tokens.signing import CURRENT_CACHE_S
from keystead.store.sql import SqlStore
from keystead.store.sql.tables import token_signing_keys


async def issue(s: Setup, ttl_s: int | None = None) -> Issued:
    issued = await s.ks.tokens.exchange(s.key, VerifyContext(), TokenRequest(ttl_s=ttl_s))
    assert isinstance(issued, Issued)
    return issued


def clock_of(s: Setup) -> ManualClock:
    assert isinstance(s.ks.clock, ManualClock)
    return s.ks.clock


async def test_the_first_issuance_makes_the_key(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    assert await s.ks.tokens.signing_keys(s.root, s.api.id) == []
    assert (await s.ks.tokens.jwks(s.api.id))[0] == {"keys": []}
    issued = await issue(s)
    [info] = await s.ks.tokens.signing_keys(s.root, s.api.id)
    assert (info.kid, info.algorithm, info.signing) == (issued.kid, "EdDSA", True)
    assert info.public_jwk is not None and "d" not in info.public_jwk
    assert (await issue(s)).kid == issued.kid


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "HS256"])
async def test_the_policys_algorithm(vault: Keystead, algorithm: str) -> None:
    setup = await given(vault)
    s = setup
    await s.ks.tokens.set_policy(s.root, s.api.id, TokenPolicy(algorithm=algorithm))
    issued = await issue(s)
    verified_token = await s.ks.tokens.verifier.verify_async(issued.token)
    assert verified_token.jti == issued.jti
    jwks, _ = await s.ks.tokens.jwks(s.api.id)
    if algorithm == "HS256":
        assert jwks == {"keys": []}  # a shared secret is never published
    else:
        [jwk] = jwks["keys"]
        key = VerifyingKey.from_jwk(jwk)
        assert verified(issued.token, lambda kid: key if kid == jwk["kid"] else None)


async def test_rotation_overlaps_then_the_old_key_leaves(vault: Keystead) -> None:
    setup = await given(vault)
    s, clock = setup, clock_of(setup)
    old = await issue(s, ttl_s=3600)
    await s.ks.tokens.verifier.prepare(s.api.id)
    info = await s.ks.tokens.rotate_signing_key(s.root, s.api.id, "ES256")
    assert info.signing and info.algorithm == "ES256" and info.kid != old.kid
    new = await issue(s)
    assert new.kid == info.kid
    keys = {k.kid: k for k in await s.ks.tokens.signing_keys(s.root, s.api.id)}
    retired = keys[old.kid]
    assert not retired.signing and retired.retired_at == clock.now()
    assert retired.publish_until == clock.now() + 3600 + LEEWAY_S + CURRENT_CACHE_S
    jwks, etag = await s.ks.tokens.jwks(s.api.id)
    assert {k["kid"] for k in jwks["keys"]} == {old.kid, new.kid}
    assert s.ks.tokens.verifier.verify(old.token).jti == old.jti  # still verifies
    assert s.ks.tokens.verifier.verify(new.token).jti == new.jti
    clock.advance(3600 + LEEWAY_S + CURRENT_CACHE_S + 1)
    await s.ks.tokens.upkeep()
    jwks, later = await s.ks.tokens.jwks(s.api.id)
    assert [k["kid"] for k in jwks["keys"]] == [new.kid] and later != etag
    assert [k.kid for k in await s.ks.tokens.signing_keys(s.root, s.api.id)] == [new.kid]
    with pytest.raises(TokenRefused) as refused:
        await s.ks.tokens.verifier.verify_async(old.token)
    assert refused.value.reason in ("unknown_kid", "expired")
    entries = await s.ks.audit.list(s.root, action="token.signing_key.rotate")
    assert len(entries.items) == 1


async def test_a_token_of_a_removed_key_does_not_verify(vault: Keystead) -> None:
    """A key removed from the JWKS is dropped by every verifier, whatever a token claims."""
    setup = await given(vault)
    s, clock = setup, clock_of(setup)
    old = await issue(s, ttl_s=60)
    await s.ks.tokens.rotate_signing_key(s.root, s.api.id)
    clock.advance(3600 + LEEWAY_S + CURRENT_CACHE_S + 1)
    await s.ks.tokens.upkeep()
    s.ks.tokens.verifier.flush()
    with pytest.raises(TokenRefused) as refused:
        await s.ks.tokens.verifier.verify_async(old.token)
    assert refused.value.reason == "unknown_kid"


async def test_scheduled_rotation(vault: Keystead) -> None:
    setup = await given(vault)
    s, clock = setup, clock_of(setup)
    await s.ks.tokens.set_policy(s.root, s.api.id, TokenPolicy(rotate_every_s=86_400))
    first = await issue(s)
    clock.advance(3600)
    await s.ks.tokens.upkeep()
    assert (await issue(s)).kid == first.kid
    clock.advance(86_400)
    await s.ks._scheduled_upkeep()
    clock.advance(CURRENT_CACHE_S)
    assert (await issue(s)).kid != first.kid


async def test_the_store_holds_the_private_key_sealed(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await issue(s)
    store = s.ks.store
    assert isinstance(store, SqlStore)
    async with store._engine.connect() as c:
        row = (await c.execute(sa.select(token_signing_keys))).one()
    private = s.ks.tokens.signing.open((await store.list_signing_keys(s.api.id))[0])
    assert private not in row.sealed and private.hex().encode() not in row.sealed
    assert row.sealed[:1] == b"\x02" and row.key_version == 1 and row.id == issued.kid
    moved = dataclasses.replace(
        (await store.list_signing_keys(s.api.id))[0], api_id="api_elsewhere", id="tsk_other"
    )
    with pytest.raises(Exception, match="integrity"):
        s.ks.tokens.signing.open(moved)  # the AAD binds where it lives


async def test_a_rewrap_covers_signing_keys(vault: Keystead, settings: Settings) -> None:
    setup = await given(vault)
    s = setup
    issued = await issue(s)
    await s.ks.master_keys.rotate()
    assert (await s.ks.master_keys.pending())["token_signing_key"] == 1
    done = await s.ks.master_keys.rewrap()
    assert done.rewrapped["token_signing_key"] == 1
    reopened = await Keystead.open(settings=settings, clock=s.ks.clock)
    try:
        again = await reopened.tokens.exchange(s.key, VerifyContext(), TokenRequest())
        assert isinstance(again, Issued) and again.kid == issued.kid  # opens after the rewrap
    finally:
        await reopened.close()


async def test_without_a_master_key_tokens_say_why(keystead: Keystead, admin: Principal) -> None:
    api = await keystead.apis.create(admin, name="orders")
    created = await keystead.keys.create(admin, api_id=api.id)
    with pytest.raises(NoMasterKey) as refused:
        await keystead.tokens.exchange(created.plaintext, VerifyContext(), TokenRequest())
    assert refused.value.status == 503 and "keystead init" in refused.value.detail
    assert refused.value.public_detail == refused.value.detail


async def test_a_new_algorithm_rotates_the_key(vault: Keystead) -> None:
    s = await given(vault)
    first = await issue(s)
    await s.ks.tokens.set_policy(s.root, s.api.id, TokenPolicy(algorithm="ES256"))
    keys = await s.ks.tokens.signing_keys(s.root, s.api.id)
    assert [(k.algorithm, k.signing) for k in keys] == [("ES256", True), ("EdDSA", False)]
    assert (await issue(s)).kid == keys[0].kid
    assert (await s.ks.tokens.verifier.verify_async(first.token)).jti == first.jti
    await s.ks.tokens.set_policy(s.root, s.api.id, TokenPolicy(algorithm="ES256", max_ttl_s=600))
    assert len(await s.ks.tokens.signing_keys(s.root, s.api.id)) == 2  # same algorithm: kept
