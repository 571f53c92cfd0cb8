"""Signing-key rotation with overlap: after a rotation the old ``kid`` stays in the
JWKS, and its tokens verify (PyJWT, the middleware, introspection) until they
expire; once its last token can have expired the key leaves the JWKS (the
scheduler's token upkeep), and a token it signed verifies nowhere."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from keystead.core.tokens import LEEWAY_S

from .kit import Deployment, call
from .test_pyjwt import ALGORITHMS, decode

MAX_TTL_S = 6
"""The policy's longest token: how long the retired key must stay published."""


def kids(deployment: Deployment, api_id: str) -> set[str]:
    return {jwk["kid"] for jwk in httpx.get(deployment.jwks_url(api_id)).json()["keys"]}


def test_the_old_kid_verifies_until_its_tokens_expire_then_leaves(
    deployment: Deployment, resource: str
) -> None:
    api_id = deployment.new_api(
        {"min_ttl_s": 1, "default_ttl_s": MAX_TTL_S, "max_ttl_s": MAX_TTL_S}
    )
    key = deployment.new_key(api_id)
    old = deployment.exchange(key)
    # a resource server's client, the old JWKS cached; PyJWT fetches again for an
    # unknown kid only after its cooldown (30 s by default), none here
    cached_jwks = jwt.PyJWKClient(deployment.jwks_url(api_id), cooldown_duration=0)
    cached_jwks.get_signing_key_from_jwt(old["token"])

    rotated = deployment.rotate(api_id, "ES256")
    assert rotated["kid"] != old["kid"] and rotated["signing"] is True
    assert rotated["algorithm"] == "ES256"
    new = deployment.exchange(key)
    assert new["kid"] == rotated["kid"]
    assert jwt.get_unverified_header(new["token"])["alg"] == "ES256"
    assert kids(deployment, api_id) == {old["kid"], new["kid"]}

    listed = {item["kid"]: item for item in deployment.signing_keys(api_id)}
    retired = listed[old["kid"]]
    assert retired["signing"] is False and retired["retired_at"] is not None
    assert listed[new["kid"]]["signing"] is True

    # both verify: PyJWT with a fresh client, and with the one that cached the old
    # JWKS (it fetches again on the unknown kid), the middleware and introspection
    for token in (old["token"], new["token"]):
        decode(deployment, api_id, token, audience=api_id)
        signing_key = cached_jwks.get_signing_key_from_jwt(token)
        jwt.decode(token, signing_key, algorithms=ALGORITHMS, audience=api_id)
        assert call(resource, token).status_code == 200
        assert deployment.introspect(token)["active"] is True

    # the old token expires: refused everywhere, though its key is still published
    wait_until(old["expires_at"], LEEWAY_S + 0.5)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(deployment, api_id, old["token"], audience=api_id)
    assert call(resource, old["token"]).status_code == 401
    assert deployment.introspect(old["token"]) == {"active": False}

    # after publish_until the upkeep takes the old key out of the JWKS
    deadline = time.monotonic() + MAX_TTL_S + LEEWAY_S + 30
    while old["kid"] in kids(deployment, api_id):
        assert time.monotonic() < deadline, "the retired key is still published"
        time.sleep(0.25)
    assert kids(deployment, api_id) == {new["kid"]}
    remaining = {item["kid"]: item for item in deployment.signing_keys(api_id)}
    assert old["kid"] not in remaining or remaining[old["kid"]]["signing"] is False
    with pytest.raises(jwt.PyJWKClientError):
        jwt.PyJWKClient(deployment.jwks_url(api_id)).get_signing_key_from_jwt(old["token"])
    assert call(resource, old["token"]).status_code == 401
    assert deployment.introspect(old["token"]) == {"active": False}


def wait_until(expires_at: str | float, margin_s: float) -> None:
    """Sleep until ``margin_s`` after ``expires_at`` (epoch seconds or RFC 3339)."""
    from datetime import datetime

    at = (
        expires_at
        if isinstance(expires_at, int | float)
        else datetime.fromisoformat(expires_at).timestamp()
    )
    time.sleep(max(0.0, at + margin_s - time.time()))
