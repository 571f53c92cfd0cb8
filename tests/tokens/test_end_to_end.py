"""The whole path with clients nobody here wrote: PyJWT (after ``POST /v1/tokens``),
Authlib and requests-oauthlib (client credentials) each get a token and call a
FastAPI app protected by Keystead's middleware; the key is then revoked through
another ``keystead serve`` on the same PostgreSQL, and the app refuses the token
within a second: in embedded mode (the invalidation channel) and in remote mode
(the signed revocation document)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session as OAuthlibSession

from conftest import backend_database

from .kit import (
    MODES,
    Deployment,
    Key,
    call,
    deploy,
    guard_for,
    protected_app,
    serve_app,
    status_within,
)
from .test_pyjwt import decode

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Two nodes on one PostgreSQL schema."""
    home = tmp_path_factory.mktemp("tokens-cluster")
    with backend_database("postgres", home) as database_url, deploy(home, database_url) as d:
        d.add_node()
        yield d


@pytest.fixture(scope="module", params=MODES)
def app_url(request: pytest.FixtureRequest, cluster: Deployment) -> Iterator[str]:
    with serve_app(protected_app(guard_for(request.param, cluster))) as url:
        yield url


@contextmanager
def pyjwt_client(cluster: Deployment, key: Key) -> Iterator[Callable[[str], int]]:
    """``POST /v1/tokens`` with the key, the token checked by PyJWT, then sent."""
    token = cluster.exchange(key)["token"]
    assert decode(cluster, key.api_id, token, audience=key.api_id)["sub"] == key.id
    yield lambda url: call(url, token).status_code


@contextmanager
def authlib_client(cluster: Deployment, key: Key) -> Iterator[Callable[[str], int]]:
    with AuthlibSession(
        client_id=key.id, client_secret=key.secret, token_endpoint_auth_method="client_secret_post"
    ) as session:
        session.fetch_token(f"{cluster.url}/oauth/token", grant_type="client_credentials")
        yield lambda url: int(session.get(f"{url}/documents", timeout=10).status_code)


@contextmanager
def requests_oauthlib_client(cluster: Deployment, key: Key) -> Iterator[Callable[[str], int]]:
    with OAuthlibSession(client=BackendApplicationClient(client_id=key.id)) as session:
        session.fetch_token(f"{cluster.url}/oauth/token", client_secret=key.secret)
        yield lambda url: int(session.get(f"{url}/documents", timeout=10).status_code)


CLIENTS: dict[str, Callable[[Deployment, Key], AbstractContextManager[Callable[[str], int]]]] = {
    "pyjwt": pyjwt_client,
    "authlib": authlib_client,
    "requests-oauthlib": requests_oauthlib_client,
}


@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_key_revoked_through_another_node_loses_its_tokens_within_a_second(
    cluster: Deployment, app_url: str, client: str
) -> None:
    api_id = cluster.new_api()
    key = cluster.new_key(api_id)
    with CLIENTS[client](cluster, key) as get:
        assert get(app_url) == 200
        assert get(app_url) == 200  # a repeated token (the verifier's cache)
        cluster.revoke_key(key, node=cluster.nodes[1])
        status_within(lambda: get(app_url), 401)


def test_a_token_revoked_by_jti_through_another_node(cluster: Deployment, app_url: str) -> None:
    api_id = cluster.new_api()
    key = cluster.new_key(api_id)
    revoked, kept = cluster.exchange(key), cluster.exchange(key)
    assert call(app_url, revoked["token"]).status_code == 200
    assert call(app_url, kept["token"]).status_code == 200
    with cluster.admin(cluster.nodes[1]) as admin:
        answer = admin.post(
            "/v1/tokens/revocations",
            json={"api_id": api_id, "jti": revoked["jti"], "expires_at": revoked["expires_at"]},
        )
    assert answer.status_code < 300, answer.text
    status_within(lambda: call(app_url, revoked["token"]).status_code, 401)
    assert call(app_url, kept["token"]).status_code == 200
