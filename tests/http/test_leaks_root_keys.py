"""A leaked root key reported by GitHub (a body signed with a P-256 key made here,
as GitHub signs it; the public keys from a loopback server): revoked at once,
``true_positive``, listed under ``/v1/leaks``, and the same answer again."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from httpkit import World, tuned_world

from keystead.config import Settings
from keystead.core.clock import ManualClock
from leakkit import KeyServer, Signer, matches


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
async def world(settings: Settings, clock: ManualClock, signer: Signer) -> AsyncIterator[World]:
    with KeyServer([signer]).running() as server:
        async with tuned_world(settings, clock, github_keys_url=server.url) as opened:
            yield opened


async def test_github_reports_a_root_key_and_it_stops_working_at_once(
    world: World, signer: Signer
) -> None:
    await world.ks.leaks.policies.set(world.operator, action="notify")
    leaked = await world.ks.root_keys.create(world.operator, name="ci")
    listing = await world.client.get("/v1/root_keys", headers=world.auth(leaked.plaintext))
    assert listing.status_code == 200, listing.text
    body = matches(leaked.plaintext)

    first = await world.client.post("/v1/leaks/github", content=body, headers=signer.headers(body))
    again = await world.client.post("/v1/leaks/github", content=body, headers=signer.headers(body))

    assert first.status_code == 200, first.text
    feedback = {
        "token_hash": hashlib.sha256(leaked.plaintext.encode()).hexdigest(),
        "token_type": "keystead_api_key",
        "label": "true_positive",
    }
    assert first.json() == again.json() == [feedback]
    refused = await world.client.get("/v1/root_keys", headers=world.auth(leaked.plaintext))
    assert refused.status_code == 401
    leaks = await world.client.get("/v1/leaks", headers=world.auth())
    [leak] = leaks.json()["items"]
    assert (leak["key_id"], leak["outcome"]) == (leaked.root_key.id, "revoked")
    assert (leak["source"], leak["incident_id"]) == ("github", None)
    assert leaked.plaintext not in first.text + leaks.text
    audit = await world.client.get(
        "/v1/audit", params={"action": "root_key.revoke"}, headers=world.auth()
    )
    [entry] = audit.json()["items"]
    assert (entry["target_id"], entry["actor"]) == (leaked.root_key.id, "leak:github")
