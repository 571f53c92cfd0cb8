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


__all__ = ["FORM", "PERMISSIONS", "Client", "client_of", "exchange", "oauth_error", "segment"]
