"""``/v1/server_secret`` over HTTP: status, rotation, retirement and their bad input."""

from __future__ import annotations

from httpkit import assert_problem, open_world

from keystead.service import Keystead


async def test_rotate_verify_an_old_key_and_retire_over_http(vault: Keystead) -> None:
    async with open_world(vault) as world:
        h = world.auth()
        api = await world.client.post("/v1/apis", json={"name": "pay"}, headers=h)
        key = await world.client.post("/v1/keys", json={"api_id": api.json()["id"]}, headers=h)
        plaintext = key.json()["key"]
        before = await world.client.get("/v1/server_secret", headers=h)
        assert before.status_code == 200
        assert [(v["version"], v["state"]) for v in before.json()["versions"]] == [(1, "newest")]
        rotated = await world.client.post(
            "/v1/server_secret/rotate", json={"settle_s": 0}, headers=h
        )
        assert rotated.status_code == 201, rotated.text
        assert rotated.json()["newest"] == 2
        assert "sealed" not in rotated.text and 'secret"' not in rotated.text
        refused = await world.client.post(
            "/v1/server_secret/retire", json={"version": 1}, headers=h
        )
        # the root key of this very request was moved already, on its way in
        assert "1 keys and 0 root keys" in assert_problem(refused, 409)["detail"]
        verified = await world.client.post("/v1/keys/verify", json={"key": plaintext}, headers=h)
        assert verified.json()["code"] == "VALID"
        after = (await world.client.get("/v1/server_secret", headers=h)).json()
        assert {v["version"]: v["keys"] for v in after["versions"]} == {1: 0, 2: 1}
        assert {v["version"]: v["root_keys"] for v in after["versions"]} == {1: 0, 2: 1}


async def test_bad_input_is_a_problem(vault: Keystead) -> None:
    async with open_world(vault) as world:
        h = world.auth()
        bodies: list[object] = [
            {"settle_s": -1},
            {"settle_s": 1e12},
            {"settle_s": "soon"},
            {"settle": 3},
            [],
        ]
        for body in bodies:
            response = await world.client.post("/v1/server_secret/rotate", json=body, headers=h)
            assert_problem(response, 422)
        retirements: list[object] = [
            {},
            {"version": 0},
            {"version": "1"},
            {"version": 1, "force": "yes"},
        ]
        for body in retirements:
            response = await world.client.post("/v1/server_secret/retire", json=body, headers=h)
            assert_problem(response, 422)
        newest = await world.client.post("/v1/server_secret/retire", json={"version": 1}, headers=h)
        assert "newest" in assert_problem(newest, 409)["detail"]
        missing = await world.client.post(
            "/v1/server_secret/retire", json={"version": 5}, headers=h
        )
        assert_problem(missing, 404)


async def test_rotation_without_a_master_key_is_a_conflict(keystead: Keystead) -> None:
    async with open_world(keystead) as world:
        response = await world.client.post(
            "/v1/server_secret/rotate", json={"settle_s": 0}, headers=world.auth()
        )
        assert "master key" in assert_problem(response, 409)["detail"]
