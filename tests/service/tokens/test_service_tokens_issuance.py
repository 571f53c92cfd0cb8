"""Exchanging a key for an access token: it is a verification (refusals, limits and
usage exactly verify's), then the API's policy (TTL, audience, claims, meta) and
the permission subset (wildcards cover concrete requests)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from token_support import Setup, given

from keystead.core.models import Code, VerifyContext
from keystead.core.tokens import TokenPolicy
from keystead.core.tokens.policy import InvalidTokenRequest
from keystead.core.verify import Verdict
from keystead.errors import Forbidden
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest


async def issue(s: Setup, request: TokenRequest | None = None, key: str | None = None) -> Issued:
    issued = await s.ks.tokens.exchange(key or s.key, VerifyContext(), request or TokenRequest())
    assert isinstance(issued, Issued), issued
    return issued


async def set_policy(s: Setup, **fields: object) -> None:
    await s.ks.tokens.set_policy(s.root, s.api.id, TokenPolicy.from_dict(fields))


async def test_a_token_carries_the_claims_of_the_key(vault: Keystead) -> None:
    setup = await given(vault)
    issued = await issue(setup)
    verified = await setup.ks.tokens.verifier.verify_async(issued.token)
    claims = verified.claims
    now = int(setup.ks.clock.now())
    assert claims["iss"] == f"http://127.0.0.1:8400/apis/{setup.api.id}"
    assert claims["sub"] == claims["client_id"] == setup.key_id
    assert claims["aud"] == setup.api.id and claims["api_id"] == setup.api.id
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (now, now, now + 300)
    assert claims["jti"] == issued.jti and claims["owner_id"] == "user_1"
    assert claims["permissions"] == ["invoices.*", "orders.read", "orders.write"]
    assert claims["scope"] == "invoices.* orders.read orders.write"
    assert "meta" not in claims
    assert issued.expires_in == 300 and issued.kid.startswith("tsk_")
    assert setup.key not in issued.token and setup.key not in repr(issued)


async def test_public_url_sets_the_issuer(vault: Keystead) -> None:
    setup = await given(vault)
    settings = setup.ks.settings.model_copy(update={"public_url": "https://keys.example.com/"})
    assert settings.base_url() == "https://keys.example.com"
    setup.ks._ctx.settings = settings
    assert setup.ks.tokens.issuer("api_x") == "https://keys.example.com/apis/api_x"


async def test_ttl_is_bounded_by_the_policy(vault: Keystead) -> None:
    setup = await given(vault)
    await set_policy(setup, min_ttl_s=30, max_ttl_s=600, default_ttl_s=60)
    assert (await issue(setup)).expires_in == 60
    assert (await issue(setup, TokenRequest(ttl_s=600))).expires_in == 600
    for ttl in (29, 601, 0):
        with pytest.raises(InvalidTokenRequest) as refused:
            await issue(setup, TokenRequest(ttl_s=ttl))
        assert refused.value.status == 400 and refused.value.field == "ttl_s"


async def test_a_token_never_outlives_its_key(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    expires = s.ks._ctx.now() + timedelta(seconds=90)
    await s.ks.keys.update(s.root, s.key_id, {"expires_at": expires.isoformat()})
    assert (await issue(s, TokenRequest(ttl_s=3600))).expires_in == 90


async def test_audiences_the_policy_allows(vault: Keystead) -> None:
    setup = await given(vault)
    await set_policy(setup, audiences=["billing"])
    issued = await issue(setup, TokenRequest(audience="billing"))
    verified = await setup.ks.tokens.verifier.verify_async(issued.token, audience="billing")
    assert verified.audience == "billing"
    with pytest.raises(InvalidTokenRequest) as refused:
        await issue(setup, TokenRequest(audience="elsewhere"))
    assert refused.value.field == "audience"


async def test_permissions_must_be_a_subset(vault: Keystead) -> None:
    setup = await given(vault)
    issued = await issue(setup, TokenRequest(permissions=["orders.read", "invoices.send"]))
    assert issued.permissions == ("orders.read", "invoices.send")  # invoices.* covers it
    with pytest.raises(Forbidden) as refused:
        await issue(setup, TokenRequest(permissions=["orders.read", "admin.all"]))
    assert refused.value.status == 403 and "admin.all" in refused.value.detail
    with pytest.raises(InvalidTokenRequest):
        await issue(setup, TokenRequest(permissions=["not a permission!"]))


async def test_meta_and_claims_only_where_the_policy_allows(vault: Keystead) -> None:
    setup = await given(vault)
    with pytest.raises(InvalidTokenRequest) as refused:
        await issue(setup, TokenRequest(claims={"tenant": "t1"}))
    assert refused.value.field == "claims"
    await set_policy(setup, include_meta=True, allowed_claims=["tenant"])
    issued = await issue(setup, TokenRequest(claims={"tenant": "t1"}))
    claims = (await setup.ks.tokens.verifier.verify_async(issued.token)).claims
    assert claims["meta"] == {"plan": "gold"} and claims["tenant"] == "t1"


async def test_a_disabled_policy_issues_nothing(vault: Keystead) -> None:
    setup = await given(vault)
    await set_policy(setup, enabled=False)
    with pytest.raises(Forbidden):
        await issue(setup)


async def test_refusals_are_verifys_and_recorded(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    for key in ("garbage", "sk_" + "A" * 40):
        refused = await s.ks.tokens.exchange(key, VerifyContext(), TokenRequest())
        expected = await s.ks.verify(key, VerifyContext())
        assert isinstance(refused, Verdict) and refused.code is expected.code
    restricted = await s.ks.keys.create(
        s.root, api_id=s.api.id, restrictions={"ips": {"allow": ["10.0.0.0/8"]}}
    )
    refused = await s.ks.tokens.exchange(
        restricted.plaintext, VerifyContext(ip="192.0.2.1"), TokenRequest()
    )
    assert isinstance(refused, Verdict) and refused.code is Code.FORBIDDEN
    await s.ks.keys.disable(s.root, s.key_id)
    refused = await s.ks.tokens.exchange(s.key, VerifyContext(), TokenRequest())
    assert isinstance(refused, Verdict) and refused.code is Code.DISABLED
    await s.ks.keys.revoke(s.root, s.key_id)
    refused = await s.ks.tokens.exchange(s.key, VerifyContext(), TokenRequest())
    assert isinstance(refused, Verdict) and refused.code is Code.REVOKED
    await s.ks.flush()
    codes = [r.code for r in await s.ks.usage.records(s.root, key_id=s.key_id)]
    assert codes.count("REVOKED") == 1 and codes.count("DISABLED") == 1


async def test_limits_apply_and_issuance_is_usage(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    limited = await s.ks.keys.create(
        s.root, api_id=s.api.id, ratelimits=[{"name": "rpm", "limit": 2, "duration_s": 60}]
    )
    for _ in range(2):
        await issue(s, key=limited.plaintext)
    refused = await s.ks.tokens.exchange(limited.plaintext, VerifyContext(), TokenRequest())
    assert isinstance(refused, Verdict) and refused.code is Code.RATE_LIMITED
    assert refused.retry_after is not None
    await s.ks.flush()
    codes = [r.code for r in await s.ks.usage.records(s.root, key_id=limited.key.id)]
    assert sorted(codes) == ["RATE_LIMITED", "VALID", "VALID"]
