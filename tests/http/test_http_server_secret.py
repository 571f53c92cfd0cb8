"""``/v1/server_secret`` over HTTP: status, rotation, retirement and their bad input.

The server secret serves every workspace of the deployment, so only the local
operator (``keystead secret`` on a server host, in-process) manages it: a root key
of any workspace, even one holding ``*``, is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from httpkit import BASE_URL, assert_problem, open_world

from keystead.http.app import create_app
from keystead.http.inprocess import as_principal
from keystead.service import Keystead

ROUTES = [
    ("GET", "/v1/server_secret", None),
    ("POST", "/v1/server_secret/rotate", {"settle_s": 0}),
    ("POST", "/v1/server_secret/retire", {"version": 1, "force": True}),
]


@asynccontextmanager
async def as_operator(ks: Keystead) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP app as the local operator, the way the local CLI reaches it."""
    operator = await ks.workspaces.local_operator()
    transport = httpx.ASGITransport(app=as_principal(create_app(ks), operator))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def test_a_root_key_of_a_workspace_is_refused_even_with_every_permission(
    vault: Keystead,
) -> None:
    async with open_world(vault) as world:
        for method, path, body in ROUTES:
            response = await world.client.request(method, path, json=body, headers=world.auth())
            assert "keystead secret" in assert_problem(response, 403)["detail"], path
        async with as_operator(vault) as operator:
            status = (await operator.get("/v1/server_secret")).json()
        assert [(v["version"], v["state"]) for v in status["versions"]] == [(1, "newest")]


async def test_rotate_verify_an_old_key_and_retire_over_http(vault: Keystead) -> None:
    async with open_world(vault) as world, as_operator(vault) as operator:
        h = world.auth()
        api = await world.client.post("/v1/apis", json={"name": "pay"}, headers=h)
        key = await world.client.post("/v1/keys", json={"api_id": api.json()["id"]}, headers=h)
        plaintext = key.json()["key"]
        rotated = await operator.post("/v1/server_secret/rotate", json={"settle_s": 0})
        assert rotated.status_code == 201, rotated.text
        assert rotated.json()["newest"] == 2
        assert "sealed" not in rotated.text and 'secret"' not in rotated.text
        refused = await operator.post("/v1/server_secret/retire", json={"version": 1})
        assert "1 keys and 1 root keys" in assert_problem(refused, 409)["detail"]
        verified = await world.client.post("/v1/keys/verify", json={"key": plaintext}, headers=h)
        assert verified.json()["code"] == "VALID"  # the root key moves on its way in too
        after = (await operator.get("/v1/server_secret")).json()
        assert {v["version"]: v["keys"] for v in after["versions"]} == {1: 0, 2: 1}
        assert {v["version"]: v["root_keys"] for v in after["versions"]} == {1: 0, 2: 1}


async def test_bad_input_is_a_problem(vault: Keystead) -> None:
    async with as_operator(vault) as operator:
        bodies: list[object] = [
            {"settle_s": -1},
            {"settle_s": 1e12},
            {"settle_s": "soon"},
            {"settle": 3},
            [],
        ]
        for body in bodies:
            response = await operator.post("/v1/server_secret/rotate", json=body)
            assert_problem(response, 422)
        retirements: list[object] = [
            {},
            {"version": 0},
            {"version": "1"},
            {"version": 1, "force": "yes"},
        ]
        for body in retirements:
            response = await operator.post("/v1/server_secret/retire", json=body)
            assert_problem(response, 422)
        newest = await operator.post("/v1/server_secret/retire", json={"version": 1})
        assert "newest" in assert_problem(newest, 409)["detail"]
        missing = await operator.post("/v1/server_secret/retire", json={"version": 5})
        assert_problem(missing, 404)


async def test_rotation_without_a_master_key_is_a_conflict(keystead: Keystead) -> None:
    async with as_operator(keystead) as operator:
        response = await operator.post("/v1/server_secret/rotate", json={"settle_s": 0})
        assert "master key" in assert_problem(response, 409)["detail"]
