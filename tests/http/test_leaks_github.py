"""``POST /v1/leaks/github`` as GitHub calls it: a body signed with a P-256 key made
here, the public keys served from a loopback HTTP server. A request that is not
signed right is a 401 and does nothing at all."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from httpkit import World, assert_problem, open_world

from keystead.config import Settings
from keystead.core import keyformat
from keystead.core.clock import ManualClock
from keystead.service import Keystead
from leakkit import KeyServer, Signer, matches

PATH = "/v1/leaks/github"


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def key_server(signer: Signer) -> Iterator[KeyServer]:
    with KeyServer([signer]).running() as server:
        yield server


@dataclass
class Scene:
    world: World
    live: str
    live_id: str
    revoked: str


async def _scene(world: World) -> Scene:
    api = await world.api("leaky", prefix="lk")
    live, revoked = await world.key(api["id"]), await world.key(api["id"])
    await world.ks.keys.revoke(world.operator, revoked["id"])
    return Scene(world, live["key"], live["id"], revoked["key"])


@pytest.fixture
async def scene(
    settings: Settings, clock: ManualClock, key_server: KeyServer
) -> AsyncIterator[Scene]:
    tuned = settings.model_copy(update={"github_keys_url": key_server.url})
    ks = await Keystead.open(settings=tuned, clock=clock)
    try:
        async with open_world(ks) as world:
            yield await _scene(world)
    finally:
        await ks.close()


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _nothing_done(scene: Scene) -> None:
    world = scene.world
    assert (await world.verify(scene.live))["valid"] is True
    assert (await world.ks.incidents.list(world.operator)).items == []
    assert (await world.ks.leaks.list(world.operator)).items == []


async def test_a_signed_report_revokes_live_keys_and_answers_feedback(
    scene: Scene, signer: Signer
) -> None:
    world = scene.world
    stranger = keyformat.generate("lk")
    body = matches(scene.live, scene.revoked, stranger, "ghp_notours")

    response = await world.client.post(PATH, content=body, headers=signer.headers(body))

    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "token_hash": _sha(scene.live),
            "token_type": "keystead_api_key",
            "label": "true_positive",
        },
        {
            "token_hash": _sha(scene.revoked),
            "token_type": "keystead_api_key",
            "label": "true_positive",
        },
        {"token_hash": _sha(stranger), "token_type": "keystead_api_key", "label": "false_positive"},
        {
            "token_hash": _sha("ghp_notours"),
            "token_type": "keystead_api_key",
            "label": "false_positive",
        },
    ]
    assert scene.live not in response.text
    assert (await world.verify(scene.live))["code"] == "REVOKED"
    [incident] = (await world.ks.incidents.list(world.operator)).items
    assert incident.key_id == scene.live_id and incident.cause["source"] == "leak:github"
    assert incident.evidence["leak"]["url"] == "https://github.com/acme/app/blob/abc/.env"
    assert incident.created_by == "leak:github"
    metrics = (await world.client.get("/metrics")).text
    assert 'keystead_leak_reports_total{outcome="revoked",source="github"} 1.0' in metrics
    assert 'keystead_leak_reports_total{outcome="unknown",source="github"} 2.0' in metrics


async def test_the_same_report_twice_does_nothing_the_second_time(
    scene: Scene, signer: Signer
) -> None:
    world = scene.world
    body = matches(scene.live)
    first = await world.client.post(PATH, content=body, headers=signer.headers(body))
    second = await world.client.post(PATH, content=body, headers=signer.headers(body))

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len((await world.ks.incidents.list(world.operator)).items) == 1
    events = await world.ks.store.list_events(world.workspace_id, after=None, limit=100)
    assert [e.type for e in events].count("key.compromised") == 1


async def test_missing_or_wrong_signatures_are_401_and_do_nothing(
    scene: Scene, signer: Signer, key_server: KeyServer
) -> None:
    world = scene.world
    body = matches(scene.live)
    good = signer.headers(body)
    impostor = Signer()
    tampered = matches(scene.live, url="https://github.com/evil/x")
    attempts: list[tuple[bytes, dict[str, str]]] = [
        (body, {"Content-Type": "application/json"}),
        (body, {k: v for k, v in good.items() if k != "Github-Public-Key-Signature"}),
        (body, {k: v for k, v in good.items() if k != "Github-Public-Key-Identifier"}),
        (body, {**good, "Github-Public-Key-Signature": impostor.sign(body)}),  # wrong key
        (body, impostor.headers(body)),  # an identifier GitHub never published
        (tampered, good),  # the body changed after signing
        (body + b"\n", good),
        (body, {**good, "Github-Public-Key-Signature": "%%%not-base64%%%"}),
        (b"not json", signer.headers(b"nope")),
    ]
    for content, headers in attempts:
        response = await world.client.post(PATH, content=content, headers=headers)
        assert_problem(response, 401)
    await _nothing_done(scene)


async def test_an_unknown_identifier_reads_the_keys_again_at_most_once_a_minute(
    scene: Scene, signer: Signer, key_server: KeyServer, clock: ManualClock
) -> None:
    world = scene.world
    body = matches(scene.live)
    ok = await world.client.post(PATH, content=matches("x"), headers=signer.headers(matches("x")))
    assert ok.status_code == 200 and key_server.reads == 1
    rotated = Signer()  # GitHub starts signing with a new key
    key_server.signers.append(rotated)
    for _ in range(20):  # floods of unknown identifiers cost no read
        response = await world.client.post(PATH, content=body, headers=rotated.headers(body))
        assert_problem(response, 401)
    assert key_server.reads == 1
    await _nothing_done(scene)

    clock.advance(61)
    response = await world.client.post(PATH, content=body, headers=rotated.headers(body))

    assert response.status_code == 200, response.text
    assert key_server.reads == 2
    assert response.json()[0]["label"] == "true_positive"


async def test_bad_json_after_a_good_signature_is_a_problem(scene: Scene, signer: Signer) -> None:
    world = scene.world
    for content in (b"{", b"{}", b"[]", b'[{"type": "x"}]', b'[{"token": 5}]', b"[1]"):
        response = await world.client.post(PATH, content=content, headers=signer.headers(content))
        assert response.status_code in (400, 422), response.text
        assert_problem(response, response.status_code)
    await _nothing_done(scene)


async def test_keys_of_workspaces_not_configured_are_left_alone(
    settings: Settings, clock: ManualClock, key_server: KeyServer, signer: Signer
) -> None:
    tuned = settings.model_copy(
        update={"github_keys_url": key_server.url, "github_leak_workspaces": ["ws_other"]}
    )
    ks = await Keystead.open(settings=tuned, clock=clock)
    try:
        async with open_world(ks) as world:
            scene = await _scene(world)
            body = matches(scene.live)
            response = await world.client.post(PATH, content=body, headers=signer.headers(body))
            assert response.json()[0]["label"] == "false_positive"
            await _nothing_done(scene)
    finally:
        await ks.close()


async def test_without_a_keys_source_the_route_is_off(keystead: Keystead, signer: Signer) -> None:
    async with open_world(keystead) as world:
        body = matches("x")
        response = await world.client.post(PATH, content=body, headers=signer.headers(body))
        assert "KEYSTEAD_GITHUB_KEYS_URL" in assert_problem(response, 404)["detail"]


async def test_keys_read_from_a_file(
    settings: Settings, clock: ManualClock, signer: Signer, tmp_path: object
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    document = tmp_path / "keys.json"
    document.write_text(json.dumps({"public_keys": [signer.entry()]}))
    tuned = settings.model_copy(update={"github_keys_url": f"file://{document}"})
    ks = await Keystead.open(settings=tuned, clock=clock)
    try:
        async with open_world(ks) as world:
            scene = await _scene(world)
            body = matches(scene.live)
            response = await world.client.post(PATH, content=body, headers=signer.headers(body))
            assert response.json()[0]["label"] == "true_positive"
    finally:
        await ks.close()
