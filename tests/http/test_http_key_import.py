"""``/v1/keys/import`` over HTTP: a report per row, bad files and bodies as problems,
another workspace's API as a row's 404, and no key text or hash in any answer."""

from __future__ import annotations

import hashlib

from httpkit import assert_problem, open_world

from keystead.service import Keystead


async def test_import_over_http_reports_rows_and_never_echoes_material(
    keystead: Keystead,
) -> None:
    async with open_world(keystead) as world:
        h = world.auth()
        api = (await world.client.post("/v1/apis", json={"name": "old"}, headers=h)).json()
        other_ws = await keystead.workspaces.create("other")
        other_admin = await keystead.workspaces.local_operator(other_ws.workspace.id)
        foreign = await keystead.apis.create(other_admin, name="theirs")
        digest = hashlib.sha256(b"legacy-secret-key-42").hexdigest()
        rows = [
            {"key": "plain-secret-key-41", "api_id": api["id"], "external_id": "p"},
            {"key_hash": {"scheme": "sha256", "value": digest}, "api_id": api["id"]},
            {"key": "foreign-secret-key-43", "api_id": foreign.id},
            {"key_hash": {"scheme": "bcrypt", "value": "$2b$04$" + "a" * 53}, "api_id": api["id"]},
        ]
        answer = await world.client.post("/v1/keys/import", json={"rows": rows}, headers=h)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["imported"], body["failed"]) == (2, 2)
        assert [r["status"] for r in body["rows"]] == ["imported", "imported", "failed", "failed"]
        assert body["rows"][2]["error"]["status"] == 404
        assert body["rows"][3]["error"]["field"] == "lookup"
        for secret in ("plain-secret-key-41", digest, "foreign-secret-key-43", "aaaaaaaa"):
            assert secret not in answer.text
        for key in ("plain-secret-key-41", "legacy-secret-key-42"):
            verified = await world.client.post("/v1/keys/verify", json={"key": key}, headers=h)
            assert verified.json()["code"] == "VALID"
        status = await world.client.get("/v1/keys/import/status", headers=h)
        assert status.json() == {
            "legacy": 0,
            "schemes": [
                {"scheme": "key", "imported": 1, "legacy": 0},
                {"scheme": "sha256", "imported": 1, "legacy": 0},
            ],
        }
        audit = (await world.client.get("/v1/audit", headers=h)).text
        assert "key.import" in audit
        assert "plain-secret-key-41" not in audit and digest not in audit


async def test_bad_bodies_are_problems(keystead: Keystead) -> None:
    async with open_world(keystead) as world:
        h = world.auth()
        bodies: list[object] = [
            {},
            {"rows": []},
            {"rows": "a,b,c"},
            {"rows": ["not an object"]},
            {"rows": [{}] * 1001},
            {"rows": [{"key": "x\u0000y"}]},
            {"rows": [{"key": "abc"}], "dry_run": "yes"},
            [],
        ]
        for body in bodies:
            response = await world.client.post("/v1/keys/import", json=body, headers=h)
            assert_problem(response, 422)
        garbage = await world.client.post(
            "/v1/keys/import", content=b"key,api_id\nabc,def", headers=h
        )
        assert garbage.status_code in (400, 422)
        assert_problem(garbage, garbage.status_code)
