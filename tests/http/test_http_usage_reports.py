"""``POST /v1/usage/records``: reports of requests answered elsewhere, checked
strictly, recorded for the caller's workspace only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, open_world

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.core.usage import UsageRecord
from keystead.service import Keystead

PATH = "/v1/usage/records"


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


def report(at: float, key_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"key_id": key_id, "code": "VALID", "at": at, **fields}


async def send(world: World, records: Any, root_key: str | None = None) -> Any:
    return await world.client.post(PATH, json={"records": records}, headers=world.auth(root_key))


async def stored(world: World, key_id: str | None = None) -> list[UsageRecord]:
    await world.ks.flush()
    return await world.ks.usage.records(world.operator, key_id=key_id)


async def test_reports_become_usage_records(world: World, clock: ManualClock) -> None:
    api = await world.api()
    key = await world.key(api["id"], owner_id="org_1")
    full = report(
        clock.now() - 5,
        key["id"],
        ip="203.0.113.9",
        user_agent="curl/8",
        method="PUT",
        path="/v1/docs/7",
        status=204,
        response_ms=3.25,
        bytes_in=120,
        bytes_out=0,
        tags=["docs.write"],
    )
    bare = report(clock.now(), None, code="NOT_FOUND", status=401)

    response = await send(world, [full, bare])

    assert response.status_code == 200, response.text
    assert response.json() == {"recorded": 2, "unattributed": 0}
    (record,) = await stored(world, key["id"])
    response_facts = {name: full[name] for name in full if name not in ("key_id", "tags")}
    assert record == UsageRecord(
        workspace_id=world.workspace_id,
        api_id=api["id"],
        key_id=key["id"],
        owner_id="org_1",
        country=record.country,
        tags=("docs.write",),
        **response_facts,
    )
    everything = await stored(world)
    assert {(r.code, r.key_id, r.status) for r in everything} == {
        ("VALID", key["id"], 204),
        ("NOT_FOUND", None, 401),
    }


async def test_a_key_of_another_workspace_is_never_attributed(
    world: World, clock: ManualClock
) -> None:
    ks = world.ks
    other = await ks.workspaces.create("other")
    theirs = await ks.root_keys.authenticate(other.root_key.plaintext)
    their_api = await ks.apis.create(theirs, name="theirs")
    their_key = await ks.keys.create(theirs, api_id=their_api.id)
    unknown = "key_01JZ8Q3V6N2X7R4M5T9K0W1B2C"

    response = await send(
        world, [report(clock.now(), their_key.key.id), report(clock.now(), unknown)]
    )

    assert response.json() == {"recorded": 2, "unattributed": 2}
    mine = await stored(world)
    assert [(r.workspace_id, r.key_id, r.api_id) for r in mine] == [
        (world.workspace_id, None, None)
    ] * 2
    assert await ks.usage.records(theirs, key_id=their_key.key.id) == []


async def test_a_root_key_narrowed_to_an_api_attributes_its_keys_only(
    world: World, clock: ManualClock
) -> None:
    mine, elsewhere = await world.api("mine"), await world.api("elsewhere")
    key, other = await world.key(mine["id"]), await world.key(elsewhere["id"])
    narrow = await world.root_key_with(["keys.verify"], api_ids=[mine["id"]])

    response = await send(
        world, [report(clock.now(), key["id"]), report(clock.now(), other["id"])], narrow
    )

    assert response.json() == {"recorded": 2, "unattributed": 1}
    assert len(await stored(world, key["id"])) == 1
    assert await stored(world, other["id"]) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": 99}, "records[1].status"),
        ({"status": 600}, "records[1].status"),
        ({"response_ms": -1}, "records[1].response_ms"),
        ({"bytes_out": -5}, "records[1].bytes_out"),
        ({"at": 0}, "records[1].at"),
        ({"at": 4_000_000_000}, "records[1].at"),
    ],
)
async def test_a_bad_value_names_its_report(
    world: World, clock: ManualClock, fields: dict[str, Any], field: str
) -> None:
    response = await send(world, [report(clock.now()), {**report(clock.now()), **fields}])

    assert assert_problem(response, 422)["field"] == field
    assert await stored(world) == []


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"code": "FINE"}, ["body", "records", 0, "code"]),
        ({"key_id": "not-an-id"}, ["body", "records", 0, "key_id"]),
        ({"status": "200"}, ["body", "records", 0, "status"]),
        ({"status": 200.0}, ["body", "records", 0, "status"]),
        ({"at": "now"}, ["body", "records", 0, "at"]),
        ({"ip": "1" * 129}, ["body", "records", 0, "ip"]),
        ({"path": "/a\x00"}, ["body", "records", 0, "path"]),
        ({"tags": ["x"] * 17}, ["body", "records", 0, "tags"]),
        ({"tags": [""]}, ["body", "records", 0, "tags", 0]),
        ({"surprise": 1}, ["body", "records", 0, "surprise"]),
    ],
)
async def test_a_malformed_report_is_refused(
    world: World, clock: ManualClock, changes: dict[str, Any], location: list[Any]
) -> None:
    response = await send(world, [{**report(clock.now()), **changes}])

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == location
    assert await stored(world) == []


async def test_the_batch_itself_is_checked(world: World, clock: ManualClock) -> None:
    too_many = await send(world, [report(clock.now())] * 1001)
    not_a_list = await send(world, {"key_id": None})
    no_records = await world.client.post(PATH, json={}, headers=world.auth())
    not_json = await world.client.post(PATH, content=b"{", headers=world.auth())
    empty = await send(world, [])

    assert assert_problem(too_many, 422)["errors"][0]["loc"] == ["body", "records"]
    assert_problem(not_a_list, 422)
    assert_problem(no_records, 422)
    assert_problem(not_json, 400)
    assert empty.json() == {"recorded": 0, "unattributed": 0}


async def test_reporting_needs_keys_verify(world: World, clock: ManualClock) -> None:
    lacking = await world.root_key_without("keys.verify")

    assert_problem(await world.client.post(PATH, json={"records": []}), 401)
    problem = assert_problem(await send(world, [report(clock.now())], lacking), 403)
    assert "keys.verify" in problem["detail"]


async def test_with_usage_off_nothing_is_recorded(settings: Settings, clock: ManualClock) -> None:
    off = settings.model_copy(update={"usage_enabled": False})
    async with await Keystead.open(settings=off, clock=clock) as ks, open_world(ks) as world:
        response = await send(world, [report(clock.now())])

        assert response.json() == {"recorded": 0, "unattributed": 0}
        assert await stored(world) == []
