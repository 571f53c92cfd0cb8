"""Lowering a token policy's ``max_ttl_s`` never shortens what protects the
tokens already issued under the higher one: a revoked key's denial and a
retired signing key's publication last as long as those tokens may live."""

from __future__ import annotations

import pytest
from token_support import Setup, given

from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenPolicy, TokenRefused
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest
from keystead.service.tokens.denials import max_ttl_at

LONG = TokenPolicy(max_ttl_s=3600)
SHORT = TokenPolicy(default_ttl_s=30, max_ttl_s=60)


async def long_token(s: Setup) -> Issued:
    """A token under the long policy, for its whole ``max_ttl_s``; then the
    policy is lowered to ``SHORT``."""
    await s.ks.tokens.set_policy(s.root, s.api.id, LONG)
    issued = await s.ks.tokens.exchange(s.key, VerifyContext(), TokenRequest(ttl_s=3600))
    assert isinstance(issued, Issued), issued
    assert (await s.ks.tokens.verifier.verify_async(issued.token)).jti == issued.jti
    await s.ks.tokens.set_policy(s.root, s.api.id, SHORT)
    return issued


async def refused_everywhere(s: Setup, token: str) -> None:
    """Refused here, by a verifier loading afresh from the store (another
    node), and by introspection."""
    verifier = s.ks.tokens.verifier
    with pytest.raises(TokenRefused) as here:
        verifier.verify(token)
    assert here.value.reason == "revoked"
    verifier.flush()
    with pytest.raises(TokenRefused) as loaded:
        await verifier.verify_async(token)
    assert loaded.value.reason == "revoked"
    assert await s.ks.tokens.introspect(token, s.root) == {"active": False}


async def test_a_revoked_keys_long_token_stays_refused_past_the_new_bound(
    vault: Keystead, clock: ManualClock
) -> None:
    s = await given(vault)
    issued = await long_token(s)
    assert (await vault.tokens.policy(s.root, s.api.id)).max_ttl_s == 60
    bystander = await vault.keys.create(s.root, api_id=s.api.id)
    clock.advance(10)
    await vault.keys.revoke(s.root, s.key_id)
    await vault.keys.revoke(s.root, bystander.key.id)  # the latest denial is always kept
    clock.advance(600)  # past the lowered bound, well before the token's exp
    await vault.tokens.upkeep()
    denied = [d.subject for d in await vault.store.list_denials(s.api.id)]
    assert denied == [s.key_id, bystander.key.id]
    await refused_everywhere(s, issued.token)
    clock.advance(3600)  # the token has expired: its denial may go
    await vault.tokens.upkeep()
    assert [d.subject for d in await vault.store.list_denials(s.api.id)] == [bystander.key.id]
    with pytest.raises(TokenRefused) as expired:
        await vault.tokens.verifier.verify_async(issued.token)
    assert expired.value.reason in ("expired", "revoked")


async def test_a_retired_signing_key_stays_published_for_the_long_tokens(
    vault: Keystead, clock: ManualClock
) -> None:
    s = await given(vault)
    issued = await long_token(s)
    clock.advance(10)
    await vault.tokens.rotate_signing_key(s.root, s.api.id)
    clock.advance(600)
    await vault.tokens.upkeep()
    jwks, _ = await vault.tokens.jwks(s.api.id)
    assert issued.kid in [k["kid"] for k in jwks["keys"]]
    vault.tokens.verifier.flush()
    assert (await vault.tokens.verifier.verify_async(issued.token)).jti == issued.jti
    clock.advance(3600)
    await vault.tokens.upkeep()
    jwks, _ = await vault.tokens.jwks(s.api.id)
    assert issued.kid not in [k["kid"] for k in jwks["keys"]]


async def test_the_higher_ceiling_lapses_once_its_tokens_may_have_expired(
    vault: Keystead, clock: ManualClock
) -> None:
    s = await given(vault)
    await long_token(s)
    api = await vault.apis.get(s.root, s.api.id)
    assert max_ttl_at(api, clock.now()) == 3600
    assert max_ttl_at(api, clock.now() + 3599) == 3600
    assert max_ttl_at(api, clock.now() + 3600) == 60
    clock.advance(3600)
    await vault.keys.revoke(s.root, s.key_id)
    [denial] = await vault.store.list_denials(s.api.id)
    assert denial.expires_at - denial.not_before == 60 + 5  # the new max_ttl_s and the leeway


async def test_lowering_twice_keeps_the_highest_ceiling(
    vault: Keystead, clock: ManualClock
) -> None:
    s = await given(vault)
    await long_token(s)  # 3600, then 60
    clock.advance(100)
    await vault.tokens.set_policy(s.root, s.api.id, TokenPolicy(default_ttl_s=30, max_ttl_s=30))
    await vault.tokens.set_policy(s.root, s.api.id, TokenPolicy(max_ttl_s=600))  # raised a bit
    api = await vault.apis.get(s.root, s.api.id)
    assert max_ttl_at(api, clock.now()) == 3600
    assert (await vault.tokens.policy(s.root, s.api.id)).max_ttl_s == 600
    clock.advance(3600)
    assert max_ttl_at(api, clock.now()) == 600


async def test_raising_the_ceiling_records_nothing(vault: Keystead, clock: ManualClock) -> None:
    s = await given(vault)
    await vault.tokens.set_policy(s.root, s.api.id, SHORT)
    await vault.tokens.set_policy(s.root, s.api.id, LONG)
    api = await vault.apis.get(s.root, s.api.id)
    assert api.token_policy == LONG.to_dict()
    assert max_ttl_at(api, clock.now()) == 3600


async def test_an_api_that_never_signed_keeps_no_higher_ceiling(
    vault: Keystead, clock: ManualClock
) -> None:
    """No token exists for the old ceiling to protect: the lower one holds at once
    (a signing key retired later is published for it alone)."""
    s = await given(vault)
    assert await vault.store.list_signing_keys(s.api.id) == []
    await vault.tokens.set_policy(s.root, s.api.id, SHORT)
    api = await vault.apis.get(s.root, s.api.id)
    assert api.token_policy == SHORT.to_dict()
    assert max_ttl_at(api, clock.now()) == 60
