"""Two nodes on one PostgreSQL database with the invalidation channel: a token minted
on node A is refused by node B's in-process verifier within 1 s of its key being
revoked (or the token itself) on node A; a signing key rotated on A verifies on B."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenRefused
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest

DEADLINE_S = 1.0
pytestmark = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@dataclass
class Nodes:
    a: Keystead
    b: Keystead
    root: Principal
    api_id: str


@pytest.fixture
async def nodes(settings: Settings) -> AsyncIterator[Nodes]:
    """Real clocks and caches: only the channel can tell B in time."""
    a = await Keystead.open(settings=settings, create_master_key=True)
    b = await Keystead.open(settings=settings)
    try:
        assert a.invalidation is not None and b.invalidation is not None
        root = await a.workspaces.local_operator()
        api = await a.apis.create(root, name="shared")
        yield Nodes(a, b, root, api.id)
    finally:
        await a.close()
        await b.close()


async def minted_on_a(nodes: Nodes) -> tuple[Issued, str]:
    created = await nodes.a.keys.create(nodes.root, api_id=nodes.api_id)
    issued = await nodes.a.tokens.exchange(created.plaintext, VerifyContext(), TokenRequest())
    assert isinstance(issued, Issued)
    assert (await nodes.b.tokens.verifier.verify_async(issued.token)).jti == issued.jti
    return issued, created.key.id


async def refused_on_b(nodes: Nodes, token: str, started: float) -> None:
    """Poll B's verifier (sync: memory only) until it refuses ``token``."""
    while True:
        try:
            nodes.b.tokens.verifier.verify(token)
        except TokenRefused as refused:
            assert refused.reason == "revoked"
            break
        assert time.monotonic() - started < DEADLINE_S, "not refused within 1 s"
        await asyncio.sleep(0.01)
    assert time.monotonic() - started < DEADLINE_S


async def test_a_key_revoked_on_a_refuses_its_tokens_on_b(nodes: Nodes) -> None:
    issued, key_id = await minted_on_a(nodes)
    started = time.monotonic()
    await nodes.a.keys.revoke(nodes.root, key_id)
    await refused_on_b(nodes, issued.token, started)


async def test_a_token_revoked_on_a_is_refused_on_b(nodes: Nodes) -> None:
    issued, _ = await minted_on_a(nodes)
    other, _ = await minted_on_a(nodes)
    started = time.monotonic()
    await nodes.a.tokens.revoke_jti(nodes.root, nodes.api_id, issued.jti, issued.expires_at)
    await refused_on_b(nodes, issued.token, started)
    assert nodes.b.tokens.verifier.verify(other.token).jti == other.jti


async def test_a_key_rotated_on_a_verifies_on_b(nodes: Nodes) -> None:
    issued, _ = await minted_on_a(nodes)
    await nodes.a.tokens.rotate_signing_key(nodes.root, nodes.api_id)
    created = await nodes.a.keys.create(nodes.root, api_id=nodes.api_id)
    fresh = await nodes.a.tokens.exchange(created.plaintext, VerifyContext(), TokenRequest())
    assert isinstance(fresh, Issued) and fresh.kid != issued.kid
    assert (await nodes.b.tokens.verifier.verify_async(fresh.token)).jti == fresh.jti
    assert nodes.b.tokens.verifier.verify(issued.token).jti == issued.jti
