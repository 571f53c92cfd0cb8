"""Access tokens at the gateway: verified in-process like the embedded
middleware; the upstream gets the identity headers of the token's key."""

from __future__ import annotations

from gateway.gatewaykit import assert_problem, config_of, route, site
from gateway.upstreams import echo, serving
from keystead.core.models import VerifyContext
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest

from .tokenkit import bearer, foreign, tampered, unsigned


async def test_the_gateway_forwards_a_token_as_its_key(vault: Keystead) -> None:
    async with serving(echo) as up:
        config = config_of([route(up.url, permissions="reports.read")])
        async with site(vault, config) as s:
            key, key_id = await s.key(owner_id="acme", permissions=["reports.read"])
            issued = await vault.tokens.exchange(key, VerifyContext(), TokenRequest())
            assert isinstance(issued, Issued), issued
            narrow = await vault.tokens.exchange(key, VerifyContext(), TokenRequest(permissions=[]))
            assert isinstance(narrow, Issued), narrow
            by_token = await s.client.get("/doc", headers=bearer(issued.token))
            by_key = await s.client.get("/doc", headers=bearer(key))
            lacking = await s.client.get("/doc", headers=bearer(narrow.token))
            wrong_key = await s.client.get("/doc", headers=bearer("gw_" + "A" * 40))
            refused = [
                await s.client.get("/doc", headers=bearer(forged))
                for forged in (
                    foreign(issued.token),
                    tampered(issued.token),
                    unsigned(issued.token),
                )
            ]
    assert by_token.status_code == by_key.status_code == 200, by_token.text
    seen_token, seen_key = dict(by_token.json()["headers"]), dict(by_key.json()["headers"])
    for name in ("x-keystead-key-id", "x-keystead-api-id", "x-keystead-owner"):
        assert seen_token[name] == seen_key[name], name
    assert seen_token["x-keystead-key-id"] == key_id
    assert "authorization" not in seen_token
    assert assert_problem(lacking, 403)["code"] == "INSUFFICIENT_PERMISSIONS"
    for answer in refused:
        assert_problem(answer, 401)
        assert answer.content == wrong_key.content
    assert len(up.seen) == 2
