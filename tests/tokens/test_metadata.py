"""RFC 8414 authorization server metadata: at both per-API URLs and server-wide, with
the fields Authlib's metadata model checks, and every URL it names answering."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from .kit import Deployment


def metadata(url: str) -> dict[str, Any]:
    answer = httpx.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    return body


def check_with_authlib(document: dict[str, Any]) -> None:
    """Authlib's validation of every RFC 8414 field. ``response_types_supported``
    is ``[]`` (no authorization endpoint: client credentials only); the RFC asks
    for a JSON array, Authlib's check also wants it non-empty, so that one check
    is made here instead."""
    model = AuthorizationServerMetadata(document)
    for name in model.REGISTRY_KEYS:
        if name != "response_types_supported":
            getattr(model, f"validate_{name}")()
    assert document["response_types_supported"] == []


def test_the_per_api_metadata_at_both_urls(deployment: Deployment) -> None:
    api_id = deployment.new_api()
    base = deployment.url
    inserted = metadata(f"{base}/.well-known/oauth-authorization-server/apis/{api_id}")
    appended = metadata(f"{base}/apis/{api_id}/.well-known/oauth-authorization-server")
    assert inserted == appended
    check_with_authlib(inserted)
    assert inserted["issuer"] == deployment.issuer(api_id)
    assert inserted["jwks_uri"] == deployment.jwks_url(api_id)
    assert inserted["token_endpoint"] == f"{base}/oauth/token"
    assert inserted["introspection_endpoint"] == f"{base}/oauth/introspect"
    assert inserted["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert inserted["grant_types_supported"] == ["client_credentials"]
    assert inserted["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    revocations = f"{base}/apis/{api_id}/.well-known/revocations.jwt"
    assert inserted["keystead_revocations_uri"] == revocations
    assert "authorization_endpoint" not in inserted


def test_the_server_wide_metadata(deployment: Deployment) -> None:
    document = metadata(f"{deployment.url}/.well-known/oauth-authorization-server")
    check_with_authlib(document)
    assert document["issuer"] == deployment.url
    assert document["jwks_uri"] == f"{deployment.url}/.well-known/jwks.json"
    assert document["token_endpoint"] == f"{deployment.url}/oauth/token"


def test_every_url_the_metadata_names_answers(deployment: Deployment) -> None:
    api_id = deployment.new_api()
    key = deployment.new_key(api_id)
    token = deployment.exchange(key)["token"]
    document = metadata(f"{deployment.url}/apis/{api_id}/.well-known/oauth-authorization-server")

    keys = httpx.get(document["jwks_uri"])
    assert keys.status_code == 200 and keys.json()["keys"]
    signing_key = jwt.PyJWKClient(document["jwks_uri"]).get_signing_key_from_jwt(token)
    jwt.decode(token, signing_key, algorithms=["EdDSA"], audience=api_id, issuer=document["issuer"])

    for endpoint in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        form = {"grant_type": "client_credentials", "token": token}
        unauthenticated = httpx.post(document[endpoint], data=form)
        assert unauthenticated.status_code == 401, (endpoint, unauthenticated.text)
        assert unauthenticated.json()["error"] == "invalid_client"

    introspected = httpx.post(
        document["introspection_endpoint"],
        data={"token": token},
        headers={"Authorization": f"Bearer {deployment.root_key}"},
    )
    assert introspected.status_code == 200 and introspected.json()["active"] is True

    revocations = httpx.get(document["keystead_revocations_uri"])
    assert revocations.status_code == 200
    assert revocations.headers["content-type"].startswith("application/jwt")
    assert revocations.headers["cache-control"] == "no-cache"
    header = jwt.get_unverified_header(revocations.text)
    assert header["typ"] == "revocations+jwt"
    # signed by the API's signing key: PyJWT verifies it with the same JWKS
    jwks = jwt.PyJWKClient(document["jwks_uri"])
    jwt.decode(
        revocations.text,
        jwks.get_signing_key_from_jwt(revocations.text),
        algorithms=["EdDSA"],
        options={"verify_aud": False},
    )
    unchanged = httpx.get(
        document["keystead_revocations_uri"],
        headers={"If-None-Match": revocations.headers["etag"]},
    )
    assert unchanged.status_code == 304
