"""PyJWT verifies Keystead's tokens with nothing but the per-API JWKS URL
(docs/tokens.md, "Verify a token with PyJWT"), for every published algorithm."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from .kit import Deployment, call, guard_for, protected_app, serve_app

ALGORITHMS = ["EdDSA", "ES256", "RS256"]


def decode(deployment: Deployment, api_id: str, token: str, audience: str) -> dict[str, object]:
    """What a resource server writes: the key from the JWKS URL, then ``decode``."""
    jwks = jwt.PyJWKClient(deployment.jwks_url(api_id))
    signing_key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token,
        signing_key,
        algorithms=ALGORITHMS,
        audience=audience,
        issuer=deployment.issuer(api_id),
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
    )
    return claims


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_pyjwt_verifies_an_exchanged_token_through_the_jwks_url(
    deployment: Deployment, algorithm: str
) -> None:
    api_id = deployment.new_api({"algorithm": algorithm})
    key = deployment.new_key(api_id, ["documents.read", "documents.write"])
    before = time.time()
    issued = deployment.exchange(key, permissions=["documents.read"], ttl_s=120)

    token = issued["token"]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "typ": "at+jwt", "kid": issued["kid"]}
    claims = decode(deployment, api_id, token, audience=api_id)
    assert claims["sub"] == claims["client_id"] == key.id
    assert claims["api_id"] == api_id and claims["aud"] == api_id
    assert claims["jti"] == issued["jti"] and str(claims["jti"]).startswith("tok_")
    assert claims["permissions"] == ["documents.read"] == issued["permissions"]
    assert claims["scope"] == "documents.read"
    assert claims["nbf"] == claims["iat"]
    iat, exp = claims["iat"], claims["exp"]
    assert isinstance(iat, int | float) and isinstance(exp, int | float)
    assert before - 5 <= iat <= time.time() + 5
    assert exp - iat == 120 == issued["expires_in"]
    assert "owner_id" not in claims and "meta" not in claims
    assert issued["token_type"] == "Bearer"


def test_pyjwt_refuses_it_for_another_audience_or_issuer(deployment: Deployment) -> None:
    api_id = deployment.new_api()
    other_api = deployment.new_api()
    token = deployment.exchange(deployment.new_key(api_id))["token"]
    deployment.exchange(deployment.new_key(other_api))  # its first signing key
    with pytest.raises(jwt.InvalidAudienceError):
        decode(deployment, api_id, token, audience=other_api)
    signing_key = jwt.PyJWKClient(deployment.jwks_url(api_id)).get_signing_key_from_jwt(token)
    with pytest.raises(jwt.InvalidIssuerError):
        jwt.decode(
            token,
            signing_key,
            algorithms=ALGORITHMS,
            audience=api_id,
            issuer=deployment.issuer(other_api),
        )
    # the other API's JWKS does not hold this API's signing key
    with pytest.raises(jwt.PyJWKClientError):
        jwt.PyJWKClient(deployment.jwks_url(other_api)).get_signing_key_from_jwt(token)


def test_an_audience_the_policy_allows_is_the_token_aud(deployment: Deployment) -> None:
    api_id = deployment.new_api({"audiences": ["reports-service"]})
    key = deployment.new_key(api_id)
    token = deployment.exchange(key, audience="reports-service")["token"]
    claims = decode(deployment, api_id, token, audience="reports-service")
    assert claims["aud"] == "reports-service"

    refused = httpx.post(
        f"{deployment.url}/v1/tokens",
        json={"audience": "billing-service"},
        headers={"Authorization": f"Bearer {key.secret}"},
    )
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_jwks_is_cacheable_and_the_server_wide_one_holds_every_api(
    deployment: Deployment,
) -> None:
    api_id = deployment.new_api()
    kid = deployment.exchange(deployment.new_key(api_id))["kid"]
    answer = httpx.get(deployment.jwks_url(api_id))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=300"
    etag = answer.headers["etag"]
    (jwk,) = answer.json()["keys"]
    assert jwk["kid"] == kid and jwk["use"] == "sig" and jwk["alg"] == "EdDSA"
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    assert "d" not in jwk  # the public half only
    again = httpx.get(deployment.jwks_url(api_id), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    everything = httpx.get(f"{deployment.url}/.well-known/jwks.json")
    assert everything.status_code == 200
    assert kid in {jwk["kid"] for jwk in everything.json()["keys"]}


def test_hs256_keys_are_never_published(deployment: Deployment) -> None:
    api_id = deployment.new_api({"algorithm": "HS256"})
    issued = deployment.exchange(deployment.new_key(api_id))
    assert jwt.get_unverified_header(issued["token"])["alg"] == "HS256"
    assert httpx.get(deployment.jwks_url(api_id)).json() == {"keys": []}
    with pytest.raises(jwt.PyJWKSetError, match="did not contain any keys"):
        jwt.PyJWKClient(deployment.jwks_url(api_id)).get_signing_key_from_jwt(issued["token"])
    # the server still knows it: introspection reads it as a live token
    assert deployment.introspect(issued["token"])["active"] is True


def test_hs256_tokens_verify_in_process_only(deployment: Deployment) -> None:
    """The shared secret never leaves the store: the embedded middleware opens it,
    the remote one (which reads only the JWKS) cannot check such a token."""
    api_id = deployment.new_api({"algorithm": "HS256"})
    key = deployment.new_key(api_id)
    token = deployment.exchange(key)["token"]
    for mode, status in {"embedded": 200, "remote": 401}.items():
        with serve_app(protected_app(guard_for(mode, deployment))) as url:
            assert call(url, token).status_code == status, mode
