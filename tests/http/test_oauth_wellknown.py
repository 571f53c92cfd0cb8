"""The well-known documents over HTTP: RFC 8414 metadata at its three addresses, the
JWKS with its cache headers and 304, and the signed revocation document with its
ETag, 304 and ``?since=`` delta."""

from __future__ import annotations

from collections.abc import AsyncIterator

import jwt
import pytest
from httpkit import World, assert_problem, open_world
from tokenkit import Client, client_of, exchange, segment

from keystead.service import Keystead

UNKNOWN_API = "api_0000000000AAAAAAAAAAAAAAAA"


@pytest.fixture
async def world(vault: Keystead) -> AsyncIterator[World]:
    async with open_world(vault) as opened:
        yield opened


@pytest.fixture
async def client(world: World) -> Client:
    return await client_of(world)


async def test_server_metadata(world: World) -> None:
    base = world.ks.settings.base_url()
    response = await world.client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200, response.text
    meta = response.json()
    assert meta["issuer"] == base
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["jwks_uri"] == f"{base}/.well-known/jwks.json"
    assert meta["introspection_endpoint"] == f"{base}/oauth/introspect"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert meta["grant_types_supported"] == ["client_credentials"]
    methods = ["client_secret_basic", "client_secret_post"]
    assert meta["token_endpoint_auth_methods_supported"] == methods
    assert meta["introspection_endpoint_auth_methods_supported"] == methods
    assert meta["revocation_endpoint_auth_methods_supported"] == methods
    assert meta["response_types_supported"] == []
    assert "scopes_supported" not in meta and "keystead_revocations_uri" not in meta


async def test_api_metadata_at_both_addresses(world: World, client: Client) -> None:
    base, api = world.ks.settings.base_url(), client.api_id
    inserted = await world.client.get(f"/.well-known/oauth-authorization-server/apis/{api}")
    appended = await world.client.get(f"/apis/{api}/.well-known/oauth-authorization-server")
    assert inserted.status_code == appended.status_code == 200, inserted.text
    meta = inserted.json()
    assert meta == appended.json()
    assert meta["issuer"] == f"{base}/apis/{api}"
    assert meta["jwks_uri"] == f"{base}/apis/{api}/.well-known/jwks.json"
    assert meta["keystead_revocations_uri"] == f"{base}/apis/{api}/.well-known/revocations.jwt"
    token = (await exchange(world, client))["token"]
    assert segment(token, 1)["iss"] == meta["issuer"]


async def test_unknown_and_malformed_apis(world: World) -> None:
    """An API that issued no token (or none at all) has no key and no document."""
    jwks = await world.client.get(f"/apis/{UNKNOWN_API}/.well-known/jwks.json")
    assert (jwks.status_code, jwks.json()) == (200, {"keys": []})
    document = await world.client.get(f"/apis/{UNKNOWN_API}/.well-known/revocations.jwt")
    assert_problem(document, 404)
    for path in (
        f"/apis/{UNKNOWN_API}/.well-known/jwks.json",
        f"/apis/{UNKNOWN_API}/.well-known/oauth-authorization-server",
        f"/.well-known/oauth-authorization-server/apis/{UNKNOWN_API}",
        f"/apis/{UNKNOWN_API}/.well-known/revocations.jwt",
    ):
        assert_problem(await world.client.get(path.replace(UNKNOWN_API, "nope")), 422)


async def test_jwks_cache_headers_and_304(world: World, client: Client) -> None:
    await exchange(world, client)  # the API has a signing key now
    for url in (f"/apis/{client.api_id}/.well-known/jwks.json", "/.well-known/jwks.json"):
        response = await world.client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "public, max-age=300"
        etag = response.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        keys = response.json()["keys"]
        assert keys and all("d" not in key and key["use"] == "sig" for key in keys)
        again = await world.client.get(url, headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == etag
        listed = await world.client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
        assert listed.status_code == 304
        assert (await world.client.get(url, headers={"If-None-Match": '"x"'})).status_code == 200


async def test_the_server_jwks_holds_every_api(world: World, client: Client) -> None:
    other = await client_of(world, "other")
    kids = {(await exchange(world, c))["kid"] for c in (client, other)}
    keys = (await world.client.get("/.well-known/jwks.json")).json()["keys"]
    assert kids <= {key["kid"] for key in keys}


async def test_hs256_keys_are_never_published(world: World, client: Client) -> None:
    url = f"/v1/apis/{client.api_id}/signing-keys/rotate"
    rotated = await world.client.post(url, json={"algorithm": "HS256"}, headers=world.auth())
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["public_jwk"] is None
    kid = rotated.json()["kid"]
    for jwks_url in (f"/apis/{client.api_id}/.well-known/jwks.json", "/.well-known/jwks.json"):
        keys = (await world.client.get(jwks_url)).json()["keys"]
        assert kid not in {key["kid"] for key in keys}


async def _document(world: World, client: Client, **params: int) -> tuple[str, str]:
    response = await world.client.get(
        f"/apis/{client.api_id}/.well-known/revocations.jwt", params=params
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/jwt"
    assert response.headers["cache-control"] == "no-cache"
    return response.text, response.headers["etag"]


async def test_the_revocation_document(world: World, client: Client) -> None:
    issued = await exchange(world, client)
    url = f"/apis/{client.api_id}/.well-known/revocations.jwt"
    before, etag = await _document(world, client)
    assert (await world.client.get(url, headers={"If-None-Match": etag})).status_code == 304
    jwks = (await world.client.get(f"/apis/{client.api_id}/.well-known/jwks.json")).json()
    key = jwt.PyJWKSet.from_dict(jwks).keys[0]
    verified = jwt.api_jws.PyJWS().decode_complete(before, key, algorithms=["EdDSA"])
    assert verified["header"]["typ"] == "revocations+jwt"
    first_seq = segment(before, 1)["seq"]

    exp = segment(issued["token"], 1)["exp"]
    body = {"api_id": client.api_id, "jti": issued["jti"], "expires_at": exp}
    revoked = await world.client.post("/v1/tokens/revocations", json=body, headers=world.auth())
    assert revoked.status_code == 204, revoked.text
    after, new_etag = await _document(world, client)
    assert new_etag != etag
    assert (await world.client.get(url, headers={"If-None-Match": etag})).status_code == 200
    assert issued["jti"] in str(segment(after, 1))
    delta, _ = await _document(world, client, since=first_seq)
    assert issued["jti"] in str(segment(delta, 1))
    latest = segment(after, 1)["seq"]
    empty, _ = await _document(world, client, since=latest)
    assert issued["jti"] not in str(segment(empty, 1))


async def test_bad_since_is_a_422(world: World, client: Client) -> None:
    url = f"/apis/{client.api_id}/.well-known/revocations.jwt"
    for since in ("-1", "x", str(2**64)):
        assert_problem(await world.client.get(url, params={"since": since}), 422)
