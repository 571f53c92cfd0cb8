"""Support for the token tests over HTTP: an API, a key holding a few permissions,
and small readers of JWTs (nothing here verifies: the tests do, with joserfc)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
from httpkit import World

PERMISSIONS = ["docs.read", "docs.write", "billing.read"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Client:
    """An API and one of its keys (the OAuth client: id and secret)."""

    api_id: str
    key_id: str
    key: str

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def basic(self, client_id: str | None = None, secret: str | None = None) -> dict[str, str]:
        """RFC 6749 section 2.3.1: each part form-encoded, then base64."""
        pair = f"{quote_plus(client_id or self.key_id)}:{quote_plus(secret or self.key)}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


async def client_of(world: World, name: str = "tokens", **key_fields: Any) -> Client:
    api = await world.api(name)
    fields = {"permissions": PERMISSIONS, **key_fields}
    key = await world.key(api["id"], **fields)
    return Client(api["id"], key["id"], key["key"])


async def exchange(world: World, client: Client, **body: Any) -> dict[str, Any]:
    """A token for the client's key (the answer of ``POST /v1/tokens``)."""
    response = await world.client.post("/v1/tokens", json=body, headers=client.bearer())
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def segment(token: str, index: int) -> dict[str, Any]:
    """A JWS segment (0: header, 1: claims), decoded without any check."""
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """RFC 6749 section 5.2: this status, JSON ``{error, error_description}``, no-store."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json", response.headers
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert set(body) <= {"error", "error_description"}
    assert response.headers["cache-control"] == "no-store"
    assert "Traceback" not in response.text
    if status == 401:
        assert response.headers["www-authenticate"].startswith(("Basic", "Bearer"))
    return body


async def exercise_tokens(w: World) -> tuple[list[str], list[str]]:
    """Every token route, successes and failures: (the keys used, the tokens issued).
    Neither may be logged or stored, and a key is never echoed back."""
    c, h = w.client, w.auth()
    client = await client_of(w, "tokens-exercised")
    issued = [await exchange(w, client), await exchange(w, client, permissions=["docs.read"])]
    await c.post("/v1/tokens", json={"permissions": ["x.y"]}, headers=client.bearer())
    await c.post("/v1/tokens", json={"claims": {"k": client.key}}, headers=client.bearer())
    await c.post("/v1/tokens", json={}, headers={"Authorization": f"Bearer {client.key}x"})
    grant = {"grant_type": "client_credentials"}
    posted = {**grant, "client_id": client.key_id, "client_secret": client.key}
    oauth = (await c.post("/oauth/token", data=grant, headers=client.basic())).json()
    await c.post("/oauth/token", data=posted)
    await c.post("/oauth/token", data={**posted, "client_secret": client.key + "x"})
    await c.post("/oauth/token", data=posted, headers=client.basic())  # both: 400
    tokens = [item["token"] for item in issued] + [oauth["access_token"]]
    for token in tokens:
        await c.post("/oauth/introspect", data={"token": token}, headers=h)
    await c.post("/oauth/introspect", data={"token": tokens[0]}, headers=client.basic())
    await c.post("/oauth/revoke", data={"token": tokens[2]}, headers=client.basic())
    revocation = {"api_id": client.api_id, "jti": issued[1]["jti"], "expires_at": w.ks.clock.now()}
    await c.post("/v1/tokens/revocations", json=revocation, headers=h)
    for path in (
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        f"/apis/{client.api_id}/.well-known/jwks.json",
        f"/apis/{client.api_id}/.well-known/oauth-authorization-server",
        f"/.well-known/oauth-authorization-server/apis/{client.api_id}",
        f"/apis/{client.api_id}/.well-known/revocations.jwt",
    ):
        await c.get(path)
    admin = f"/v1/apis/{client.api_id}"
    await c.get(f"{admin}/signing-keys", headers=h)
    await c.post(f"{admin}/signing-keys/rotate", json={"algorithm": "ES256"}, headers=h)
    policy = (await c.get(f"{admin}/token-policy", headers=h)).json()
    await c.put(f"{admin}/token-policy", json={**policy, "default_ttl_s": 60}, headers=h)
    await c.put(f"{admin}/token-policy", json={"min_ttl_s": 0}, headers=h)  # 422
    return [client.key], tokens


__all__ = ["FORM", "PERMISSIONS", "Client", "client_of", "exchange", "oauth_error", "segment"]
