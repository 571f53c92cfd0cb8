"""The poison-value table (tests/poison.py) through every HTTP route whose input
reaches the store: the verify context, usage reports, management fields (create
and PATCH). Each value is a clear 4xx problem+json naming the field, or, for
text every store holds (control characters), accepted and kept exactly; never
a 500. Afterwards the store still works: a normal verification is recorded and
read back, and what was stored before is intact. On every store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from httpkit import World, assert_problem, open_world

from keystead.core.secrets import MAX_CUSTOM_VALUE
from keystead.service import Keystead
from poison import POISON_PARAMS, Poison, cleaned, hostile_json

VERIFY_FIELDS = ("ip", "referrer", "user_agent", "method", "path", "permissions")
REPORT_FIELDS = ("ip", "user_agent", "method", "path")


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def post(world: World, verb: str, url: str, body: dict[str, Any]) -> httpx.Response:
    headers = {**world.auth(), "Content-Type": "application/json"}
    return await world.client.request(verb, url, content=hostile_json(**body), headers=headers)


def refused(response: httpx.Response, field: str) -> None:
    """A 4xx problem+json; a 422 names the field (a body that is not JSON, as a
    lone surrogate makes it, is a 400; one past the body limit a 413)."""
    assert 400 <= response.status_code < 500, response.text[:300]
    problem = assert_problem(response, response.status_code)
    if response.status_code == 422:  # the field in the detail, or as ``field``
        assert field in problem["detail"] or field in (problem.get("field") or ""), problem


def accepted(poison: Poison, field: str) -> bool:
    """Whether this text is a valid value for the field (what no store holds
    never is; a megabyte is more than any field takes)."""
    return poison.storable and not poison.long and not (field == "method" and len(poison.text) > 32)


def holds(value: Any, text: str) -> bool:
    """Whether a JSON value holds the text, as a value or an object's name."""
    if isinstance(value, dict):
        return any(name == text or holds(item, text) for name, item in value.items())
    if isinstance(value, list):
        return any(holds(item, text) for item in value)
    return bool(value == text)


async def still_works(world: World, key: dict[str, Any], records: int) -> None:
    """A normal verification is recorded and read back; the key is as it was."""
    assert (await world.verify(key["key"], path="/fine"))["valid"]
    await world.ks.flush()
    assert world.ks.usage.recorder.pending == 0
    stored = await world.ks.usage.records(world.operator, key_id=key["id"], limit=100)
    assert stored[0].path == "/fine"
    assert len(stored) == records + 1
    found = await world.client.get(f"/v1/keys/{key['id']}", headers=world.auth())
    assert found.status_code == 200
    assert (found.json()["name"], found.json()["owner_id"]) == (key["name"], key["owner_id"])


@pytest.mark.parametrize("poison", POISON_PARAMS)
async def test_verify_context(world: World, poison: Poison) -> None:
    api = await world.api()
    key = await world.key(api["id"], name="intact", owner_id="alice")
    recorded = 0
    for field in VERIFY_FIELDS:
        response = await post(
            world, "POST", "/v1/keys/verify", {"key": key["key"], field: poison.text}
        )
        if accepted(poison, field) and field != "permissions":
            assert response.status_code == 200, response.text
            recorded += 1
        elif accepted(poison, field):  # a permission query that does not parse
            assert_problem(response, 400)
        else:
            refused(response, field)
    await still_works(world, key, recorded)
    if accepted(poison, "path"):
        stored = await world.ks.usage.records(world.operator, key_id=key["id"], limit=100)
        assert poison.text in {record.path for record in stored}


@pytest.mark.parametrize("poison", POISON_PARAMS)
async def test_usage_reports(world: World, poison: Poison) -> None:
    api = await world.api()
    key = await world.key(api["id"], name="intact", owner_id="alice")
    at = world.ks.clock.now()
    recorded = 0
    hostile: list[tuple[str, dict[str, Any]]] = [
        *((field, {field: poison.text}) for field in REPORT_FIELDS),
        ("tags", {"tags": [poison.text]}),
    ]
    for field, fields in hostile:
        record = {"key_id": key["id"], "code": "VALID", "at": at, **fields}
        response = await post(world, "POST", "/v1/usage/records", {"records": [record]})
        if accepted(poison, field) and not (field == "tags" and len(poison.text) > 100):
            assert response.status_code == 200, response.text
            recorded += 1
        else:
            refused(response, f"records.0.{field}")
    await still_works(world, key, recorded)


@pytest.mark.parametrize("poison", POISON_PARAMS)
async def test_management_fields(world: World, poison: Poison) -> None:
    api = await world.api()
    key = await world.key(api["id"], name="intact", owner_id="alice", meta={"a": 1})
    text, role = poison.text, f"/v1/apis/{api['id']}/roles/r"
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/v1/apis", {"name": text}, "name"),
        ("POST", "/v1/keys", {"api_id": api["id"], "name": text}, "name"),
        ("POST", "/v1/keys", {"api_id": api["id"], "owner_id": text}, "owner_id"),
        ("POST", "/v1/keys", {"api_id": api["id"], "meta": {"note": text}}, "meta"),
        ("POST", "/v1/keys", {"api_id": api["id"], "meta": {text: 1}}, "meta"),
        ("POST", "/v1/keys", {"api_id": api["id"], "permissions": [text]}, "permissions"),
        ("PATCH", f"/v1/keys/{key['id']}", {"name": text}, "name"),
        ("PATCH", f"/v1/keys/{key['id']}", {"owner_id": text}, "owner_id"),
        ("PATCH", f"/v1/keys/{key['id']}", {"meta": {"note": text}}, "meta"),
        ("POST", "/v1/root_keys", {"name": text}, "name"),
        ("PUT", role, {"description": text, "permissions": []}, "description"),
    ]  # fmt: skip
    for method, url, body, field in cases:
        response = await post(world, method, url, body)
        if response.status_code < 300:  # only text every store holds, kept exactly
            assert poison.storable and not poison.long, (url, field)
            assert holds(response.json(), text), (url, field)
        else:
            refused(response, field)
    if poison.storable and not poison.long:  # the PATCHes took: put the key back
        restore = {"name": "intact", "owner_id": "alice", "meta": {"a": 1}}
        response = await post(world, "PATCH", f"/v1/keys/{key['id']}", restore)
        assert response.status_code == 200, response.text
    await still_works(world, key, 0)
    found = await world.client.get(f"/v1/keys/{key['id']}", headers=world.auth())
    assert found.json()["meta"] == {"a": 1}


@pytest.fixture
async def vault_world(vault: Keystead) -> AsyncIterator[World]:
    async with open_world(vault) as w:
        yield w


@pytest.mark.parametrize("poison", POISON_PARAMS)
async def test_stored_secrets(vault_world: World, poison: Poison) -> None:
    """A secret's value, field name, custom metadata and path: text a store holds is
    kept exactly (sealed), the rest a 4xx; a value past the size limit a 413."""
    world, text = vault_world, poison.text
    data = "/v1/secrets/secret/data"
    kept = await post(world, "PUT", f"{data}/intact", {"data": {"k": "v"}})
    assert kept.status_code == 200, kept.text
    response = await post(world, "PUT", f"{data}/value", {"data": {"k": text}})
    if poison.storable and not poison.long:
        assert response.status_code == 200, response.text
        read = await world.client.get(f"{data}/value", headers=world.auth())
        assert read.json()["data"] == {"k": text}
    else:
        refused(response, "data")
        if poison.storable:
            assert response.status_code == 413
    refused(await post(world, "PUT", f"{data}/name", {"data": {text: "v"}}), "data")
    meta = "/v1/secrets/secret/metadata/intact"
    response = await post(world, "PATCH", meta, {"custom_metadata": {"k": text}})
    if response.status_code < 300:
        assert poison.storable and len(text) <= MAX_CUSTOM_VALUE
        assert holds(response.json(), text)
    else:
        refused(response, "custom_metadata")
    if cleaned(text) and not poison.long:  # no URL carries a lone surrogate, or a megabyte
        where = quote(f"app/{text}", safe="/")
        for method in ("GET", "PUT", "DELETE"):
            body = {"data": {"k": "v"}} if method == "PUT" else {}
            refused(await post(world, method, f"{data}/{where}", body), "path")
    read = await world.client.get(f"{data}/intact", headers=world.auth())
    assert read.json()["data"] == {"k": "v"}
