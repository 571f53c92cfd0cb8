"""``/v1/secret-mounts`` and ``/v1/secrets/{mount}/...`` over a real store (SQLite and
PostgreSQL): KV v2 semantics as the service keeps them, answered as problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, open_world

from keystead.core.secret_paths import MAX_PATH_LENGTH
from keystead.core.secrets import MAX_FIELDS, MAX_VERSION_BYTES
from keystead.errors import ConfigurationError, StoreUnavailable
from keystead.http.problems import MASTER_KEY_UNAVAILABLE, from_keystead_error
from keystead.service import Keystead

DATA = "/v1/secrets/secret/data"


@pytest.fixture
async def world(vault: Keystead) -> AsyncIterator[World]:
    async with open_world(vault) as opened:
        yield opened


async def _put(world: World, path: str, data: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = await world.client.put(
        f"{DATA}/{path}", json={"data": data, **extra}, headers=world.auth()
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_write_read_patch_and_versions(world: World) -> None:
    c, h = world.client, world.auth()
    first = await _put(world, "payments/stripe", {"api_key": "sk_1", "account": "acme"})
    assert (first["mount"], first["path"]) == ("secret", "payments/stripe")
    assert first["metadata"]["version"] == 1 and first["metadata"]["destroyed"] is False
    assert "data" not in first and "sk_1" not in str(first)

    read = (await c.get(f"{DATA}/payments/stripe", headers=h)).json()
    assert read["data"] == {"api_key": "sk_1", "account": "acme"}
    assert read["metadata"] == first["metadata"]

    patched = await c.patch(
        f"{DATA}/payments/stripe",
        content=b'{"data": {"api_key": "sk_2", "account": null}}',
        headers={**h, "Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["metadata"]["version"] == 2
    read = (await c.get(f"{DATA}/payments/stripe", headers=h)).json()
    assert read["data"] == {"api_key": "sk_2"}
    old = (await c.get(f"{DATA}/payments/stripe", params={"version": 1}, headers=h)).json()
    assert old["data"]["api_key"] == "sk_1"

    rolled = await c.post(
        "/v1/secrets/secret/rollback/payments/stripe", json={"version": 1}, headers=h
    )
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["metadata"]["version"] == 3
    read = (await c.get(f"{DATA}/payments/stripe", headers=h)).json()
    assert read["data"] == {"api_key": "sk_1", "account": "acme"}

    subkeys = (await c.get("/v1/secrets/secret/subkeys/payments/stripe", headers=h)).json()
    assert subkeys["subkeys"] == {"account": None, "api_key": None}
    assert "sk_1" not in str(subkeys)

    meta = (await c.get("/v1/secrets/secret/metadata/payments/stripe", headers=h)).json()
    assert (meta["current_version"], meta["oldest_version"]) == (3, 1)
    assert [v["version"] for v in meta["versions"]] == [1, 2, 3]
    assert "sk_1" not in str(meta)


async def test_deleted_and_destroyed_versions_are_404_with_their_metadata(world: World) -> None:
    c, h = world.client, world.auth()
    await _put(world, "app/db", {"password": "one"})
    await _put(world, "app/db", {"password": "two"})

    deleted = await c.delete(f"{DATA}/app/db", headers=h)
    assert deleted.status_code == 200
    assert deleted.json()["versions"][1]["deletion_time"] is not None
    problem = assert_problem(await c.get(f"{DATA}/app/db", headers=h), 404)
    assert problem["state"] == "deleted"
    assert problem["metadata"]["version"] == 2 and problem["metadata"]["deletion_time"]
    assert "two" not in str(problem)
    refused = await c.post("/v1/secrets/secret/rollback/app/db", json={"version": 2}, headers=h)
    assert assert_problem(refused, 404)["metadata"]["version"] == 2

    undeleted = await c.post(
        "/v1/secrets/secret/undelete/app/db", json={"versions": [2]}, headers=h
    )
    assert undeleted.status_code == 200
    assert (await c.get(f"{DATA}/app/db", headers=h)).json()["data"] == {"password": "two"}

    destroyed = await c.post("/v1/secrets/secret/destroy/app/db", json={"versions": [1]}, headers=h)
    assert destroyed.json()["versions"][0]["destroyed"] is True
    gone = await c.get(f"{DATA}/app/db", params={"version": 1}, headers=h)
    problem = assert_problem(gone, 404)
    assert (problem["state"], problem["metadata"]["destroyed"]) == ("destroyed", True)
    soft = await c.post("/v1/secrets/secret/delete/app/db", json={"versions": [2]}, headers=h)
    assert soft.json()["versions"][1]["deletion_time"] is not None

    assert (await c.delete("/v1/secrets/secret/metadata/app/db", headers=h)).status_code == 204
    assert_problem(await c.get("/v1/secrets/secret/metadata/app/db", headers=h), 404)
    assert_problem(await c.get(f"{DATA}/app/db", params={"version": 7}, headers=h), 404)


async def test_check_and_set(world: World) -> None:
    c, h = world.client, world.auth()
    await _put(world, "cas/x", {"k": "v"}, cas=0)
    again = await c.put(f"{DATA}/cas/x", json={"data": {"k": "w"}, "cas": 0}, headers=h)
    assert "check-and-set" in assert_problem(again, 409)["detail"]
    await _put(world, "cas/x", {"k": "w"}, cas=1)
    settings = await c.patch(
        "/v1/secrets/secret/metadata/cas/x", json={"cas_required": True}, headers=h
    )
    assert settings.json()["cas_required"] is True
    blind = await c.patch(f"{DATA}/cas/x", json={"data": {"k": "z"}}, headers=h)
    assert_problem(blind, 409)
    stale = await c.post(
        "/v1/secrets/secret/rollback/cas/x", json={"version": 1, "cas": 1}, headers=h
    )
    assert_problem(stale, 409)


async def test_metadata_settings_and_custom_metadata(world: World) -> None:
    c, h = world.client, world.auth()
    for value in ("1", "2", "3"):
        await _put(world, "keep/x", {"k": value})
    body = {"max_versions": 2, "custom_metadata": {"owner": "payments"}}
    changed = await c.put("/v1/secrets/secret/metadata/keep/x", json=body, headers=h)
    assert changed.status_code == 200, changed.text
    answer = changed.json()
    assert (answer["max_versions"], answer["custom_metadata"]) == (2, {"owner": "payments"})
    assert [v["version"] for v in answer["versions"]] == [2, 3]
    read = (await c.get(f"{DATA}/keep/x", headers=h)).json()
    assert read["metadata"]["custom_metadata"] == {"owner": "payments"}


async def test_listing(world: World) -> None:
    c, h = world.client, world.auth()
    for path in ("payments/stripe", "payments/eu/adyen", "db"):
        await _put(world, path, {"k": "v"})
    top = await c.get("/v1/secrets/secret/list", headers=h)
    assert top.json() == {"keys": ["db", "payments/"]}
    folder = await c.get("/v1/secrets/secret/list/payments/", headers=h)
    assert folder.json() == {"keys": ["eu/", "stripe"]}
    empty = await c.get("/v1/secrets/secret/list/nothing", headers=h)
    assert empty.json() == {"keys": []}


async def test_mounts(world: World) -> None:
    c, h = world.client, world.auth()
    listed = (await c.get("/v1/secret-mounts", headers=h)).json()["items"]
    assert [m["name"] for m in listed] == ["secret"]
    body = {"name": "team-a", "config": {"max_versions": 3, "cas_required": True}}
    made = await c.post("/v1/secret-mounts", json=body, headers=h)
    assert made.status_code == 201, made.text
    assert made.json()["config"] == {
        "max_versions": 3,
        "cas_required": True,
        "delete_version_after": 0,
    }
    assert_problem(await c.post("/v1/secret-mounts", json=body, headers=h), 409)
    changed = await c.patch("/v1/secret-mounts/team-a", json={"cas_required": False}, headers=h)
    assert changed.json()["config"]["cas_required"] is False
    assert (await c.get("/v1/secret-mounts/team-a", headers=h)).json()["name"] == "team-a"
    written = await c.put("/v1/secrets/team-a/data/x", json={"data": {"k": "v"}}, headers=h)
    assert written.json()["mount"] == "team-a"
    assert_problem(await c.get("/v1/secret-mounts/nope", headers=h), 404)
    assert_problem(await c.get("/v1/secrets/nope/data/x", headers=h), 404)
    for name in ("sys", "Upper", "a/b", "-x", ""):
        assert_problem(await c.post("/v1/secret-mounts", json={"name": name}, headers=h), 422)
    assert_problem(
        await c.post("/v1/secret-mounts", json={"name": "kv2", "kind": "kv-v9"}, headers=h), 422
    )


# a literal ".." never reaches a server through httpx (it removes dot segments, as
# RFC 3986 says a client should); sent encoded, it arrives decoded as ".."
HOSTILE_PATHS = [
    "payments/%2e%2e/admin",
    "payments/%2E%2E",
    "payments/%252e%252e/admin",
    "%2e/x",
    "a//b",
    "a/%00/b",
    "a%0Ab",
    "a%09b",
    "a%E2%80%AEb",  # right-to-left override
    "a%EF%BC%8Fb",  # fullwidth solidus
    "a\\b",
    "a*b",
    "a:b",
    "a%25b",
    "x" * (MAX_PATH_LENGTH + 1),
    "/".join(["a"] * 40),
    "",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
async def test_hostile_paths_are_a_4xx_problem(world: World, path: str) -> None:
    c, h = world.client, world.auth()
    for method, url, body in (
        ("GET", f"{DATA}/{path}", None),
        ("PUT", f"{DATA}/{path}", {"data": {"k": "v"}}),
        ("GET", f"/v1/secrets/secret/metadata/{path}", None),
        ("POST", f"/v1/secrets/secret/destroy/{path}", {"versions": [1]}),
    ):
        response = await c.request(method, url, json=body, headers=h)
        assert response.status_code in (400, 404, 405, 422), (method, url, response.text)
        assert_problem(response, response.status_code)
    assert (await c.get("/v1/secrets/secret/list", headers=h)).json() == {"keys": []}


async def test_values_over_the_limits_are_a_413(world: World) -> None:
    c, h = world.client, world.auth()
    big = {"k": "x" * (MAX_VERSION_BYTES + 1)}
    assert_problem(await c.put(f"{DATA}/big", json={"data": big}, headers=h), 413)
    many = {f"f{i}": "" for i in range(MAX_FIELDS + 1)}
    assert_problem(await c.put(f"{DATA}/big", json={"data": many}, headers=h), 413)
    bad = await c.put(f"{DATA}/big", json={"data": {"k": 1}}, headers=h)
    assert_problem(bad, 422)
    bad = await c.put(f"{DATA}/big", json={"data": {"a b": "v"}}, headers=h)
    assert assert_problem(bad, 422)["field"] == "data"
    assert_problem(await c.get(f"{DATA}/big", params={"version": -1}, headers=h), 422)


async def test_a_path_scoped_root_key(world: World) -> None:
    c = world.client
    await _put(world, "payments/x", {"k": "pay"})
    await _put(world, "other/x", {"k": "other"})
    reader = world.auth(await world.root_key_with(["secrets.read:secret/payments/*"]))
    read = await c.get(f"{DATA}/payments/x", headers=reader)
    assert read.json()["data"] == {"k": "pay"}
    for response in (
        await c.get(f"{DATA}/other/x", headers=reader),
        await c.get(f"{DATA}/payments/%2e%2e/other/x", headers=reader),
        await c.put(f"{DATA}/payments/x", json={"data": {"k": "w"}}, headers=reader),
        await c.delete(f"{DATA}/payments/x", headers=reader),
        await c.get("/v1/secrets/secret/list/payments", headers=reader),
        await c.get("/v1/secret-mounts", headers=reader),
    ):
        assert response.status_code in (403, 422), response.text
        assert_problem(response, response.status_code)
    assert (await c.get(f"{DATA}/payments/x", headers=world.auth())).json()["metadata"][
        "version"
    ] == 1


async def test_another_workspace_s_secrets_are_404(world: World) -> None:
    c = world.client
    await _put(world, "payments/x", {"k": "mine"})
    other = await world.ks.workspaces.create("other")
    theirs = world.auth(other.root_key.plaintext)
    for method, url in (
        ("GET", f"{DATA}/payments/x"),
        ("GET", "/v1/secrets/secret/metadata/payments/x"),
        ("DELETE", f"{DATA}/payments/x"),
        ("DELETE", "/v1/secrets/secret/metadata/payments/x"),
    ):
        assert_problem(await c.request(method, url, headers=theirs), 404)
    assert (await c.get("/v1/secrets/secret/list", headers=theirs)).json() == {"keys": []}
    mine = (await c.get(f"{DATA}/payments/x", headers=world.auth())).json()
    assert mine["data"] == {"k": "mine"}


async def test_no_master_key_is_a_503_naming_it(keystead: Keystead) -> None:
    async with open_world(keystead) as world:
        c, h = world.client, world.auth()
        response = await c.put(f"{DATA}/x", json={"data": {"k": "v"}}, headers=h)
        problem = assert_problem(response, 503)
        assert problem["detail"] == MASTER_KEY_UNAVAILABLE
        assert problem["title"] == "Service Unavailable"
        assert str(keystead.settings.secret_file.parent) not in response.text


def test_only_the_keyring_s_configuration_errors_are_a_503() -> None:
    """Any other configuration error stays a generic 500 (its detail for the log)."""
    try:
        raise ConfigurationError("an unknown backend scheme")
    except ConfigurationError as exc:
        response = from_keystead_error(exc)
    assert response.status_code == 500
    assert b"backend" not in bytes(response.body)


async def test_a_read_whose_audit_entry_cannot_be_written_is_a_503_without_the_value(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _put(world, "payments/stripe", {"api_key": "sk_live_unaudited"})

    async def refuse(_records: object) -> None:
        raise StoreUnavailable("the sqlite store failed: OperationalError")

    monkeypatch.setattr(world.ks.store, "append_audit", refuse)
    response = await world.client.get(f"{DATA}/payments/stripe", headers=world.auth())
    assert_problem(response, 503)
    assert "sk_live_unaudited" not in response.text
    vault = await world.client.get(
        "/vault/v1/secret/data/payments/stripe", headers={"X-Vault-Token": world.root_key}
    )
    assert vault.status_code == 503 and vault.json()["errors"]
    assert "sk_live_unaudited" not in vault.text

    monkeypatch.undo()
    response = await world.client.get(f"{DATA}/payments/stripe", headers=world.auth())
    assert response.json()["data"] == {"api_key": "sk_live_unaudited"}
