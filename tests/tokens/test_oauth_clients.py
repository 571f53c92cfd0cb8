"""OAuth 2.0 client credentials (RFC 6749 §4.4) as Authlib's and requests-oauthlib's
clients send it, against ``POST /oauth/token``: the key id is the client id, the key
is the client secret, in the Basic header or in the body (docs/tokens.md)."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from authlib.integrations.requests_client import OAuthError
from oauthlib.oauth2 import BackendApplicationClient, InvalidClientError, InvalidScopeError
from requests_oauthlib import OAuth2Session as OAuthlibSession

from .kit import Deployment, Key
from .test_pyjwt import decode

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def token_url(deployment: Deployment) -> str:
    return f"{deployment.url}/oauth/token"


def authlib_token(
    deployment: Deployment, key: Key, method: str, secret: str | None = None, **params: Any
) -> dict[str, Any]:
    session = AuthlibSession(
        client_id=key.id,
        client_secret=key.secret if secret is None else secret,
        token_endpoint_auth_method=method,
    )
    with session:
        token: dict[str, Any] = session.fetch_token(
            token_url(deployment), grant_type="client_credentials", **params
        )
    return token


def check_access_token(deployment: Deployment, key: Key, token: dict[str, Any]) -> None:
    """An RFC 6749 §5.1 answer whose access token PyJWT verifies."""
    assert token["token_type"] == "Bearer"
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0
    claims = decode(deployment, key.api_id, token["access_token"], audience=key.api_id)
    assert claims["sub"] == claims["client_id"] == key.id


@pytest.mark.parametrize("method", AUTH_METHODS)
def test_authlib_fetches_a_token_with_client_credentials(
    deployment: Deployment, method: str
) -> None:
    api_id = deployment.new_api()
    key = deployment.new_key(api_id, ["documents.read", "documents.write"])
    token = authlib_token(deployment, key, method)
    check_access_token(deployment, key, token)
    assert set(token["scope"].split()) == {"documents.read", "documents.write"}

    narrowed = authlib_token(deployment, key, method, scope="documents.read")
    assert narrowed["scope"] == "documents.read"
    claims = decode(deployment, api_id, narrowed["access_token"], audience=api_id)
    assert claims["permissions"] == ["documents.read"]


@pytest.mark.parametrize("method", AUTH_METHODS)
def test_authlib_reads_the_oauth_errors(deployment: Deployment, method: str) -> None:
    key = deployment.new_key(deployment.new_api())
    with pytest.raises(OAuthError) as wrong_secret:
        authlib_token(deployment, key, method, secret=key.secret[:-2] + "xx")
    assert wrong_secret.value.error == "invalid_client"
    with pytest.raises(OAuthError) as too_wide:
        authlib_token(deployment, key, method, scope="documents.read billing.write")
    assert too_wide.value.error == "invalid_scope"
    unknown = Key("key_01JZ8Q3V6N2X7R4M5T9K0W1B2C", key.secret, key.api_id)
    with pytest.raises(OAuthError) as unknown_client:
        authlib_token(deployment, unknown, method)
    assert unknown_client.value.error == "invalid_client"


def test_a_refused_client_gets_401_with_www_authenticate(deployment: Deployment) -> None:
    key = deployment.new_key(deployment.new_api())
    answer = httpx.post(
        token_url(deployment),
        data={"grant_type": "client_credentials"},
        auth=(key.id, "not-the-key"),
    )
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert answer.json()["error"] == "invalid_client"
    assert "not-the-key" not in answer.text

    other_grant = httpx.post(
        token_url(deployment),
        data={"grant_type": "password", "username": "u", "password": "p"},
        auth=(key.id, key.secret),
    )
    assert other_grant.status_code == 400
    assert other_grant.json()["error"] == "unsupported_grant_type"

    issued = httpx.post(
        token_url(deployment), data={"grant_type": "client_credentials"}, auth=(key.id, key.secret)
    )
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    assert issued.headers["pragma"] == "no-cache"


def test_requests_oauthlib_backend_application_client(deployment: Deployment) -> None:
    api_id = deployment.new_api()
    key = deployment.new_key(api_id, ["documents.read", "documents.write"])
    session = OAuthlibSession(client=BackendApplicationClient(client_id=key.id))
    with session:
        basic = session.fetch_token(token_url(deployment), client_secret=key.secret)
        check_access_token(deployment, key, basic)
        posted = session.fetch_token(
            token_url(deployment),
            client_secret=key.secret,
            include_client_id=True,
            scope=["documents.write"],
        )
    check_access_token(deployment, key, posted)
    assert posted["scope"] == ["documents.write"]  # oauthlib splits the scope it gets
    assert session.token == posted and session.authorized


def test_requests_oauthlib_raises_oauthlibs_errors(deployment: Deployment) -> None:
    key = deployment.new_key(deployment.new_api())
    session = OAuthlibSession(client=BackendApplicationClient(client_id=key.id))
    with session, pytest.raises(InvalidClientError):
        session.fetch_token(token_url(deployment), client_secret="not-the-key")
    session = OAuthlibSession(client=BackendApplicationClient(client_id=key.id))
    with session, pytest.raises(InvalidScopeError):
        session.fetch_token(
            token_url(deployment), client_secret=key.secret, scope=["billing.write"]
        )


def test_a_token_from_the_token_endpoint_is_introspected_and_revoked(
    deployment: Deployment,
) -> None:
    api_id = deployment.new_api()
    key = deployment.new_key(api_id)
    token = authlib_token(deployment, key, "client_secret_basic")["access_token"]
    active = deployment.introspect(token)
    assert active["active"] is True
    assert active["client_id"] == active["sub"] == key.id
    assert active["aud"] == api_id and active["iss"] == deployment.issuer(api_id)
    assert active["token_type"] == "Bearer" and active["scope"] == "documents.read"

    session = AuthlibSession(client_id=key.id, client_secret=key.secret)
    with session:
        revoked = session.revoke_token(f"{deployment.url}/oauth/revoke", token)
        assert revoked.status_code == 200
        again = session.revoke_token(f"{deployment.url}/oauth/revoke", token)
        assert again.status_code == 200  # RFC 7009: even for a token already revoked
        garbage = session.revoke_token(f"{deployment.url}/oauth/revoke", "not-a-token")
        assert garbage.status_code == 200
    assert deployment.introspect(token) == {"active": False}
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
