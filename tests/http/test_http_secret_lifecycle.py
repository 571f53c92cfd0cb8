"""``/v1/secrets/{mount}/consumers/{path}`` and ``/v1/secrets/{mount}/rotation[/{path}]``
over HTTP: the answers' shape, permissions, and bad input as problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpkit import World, assert_problem, iso, open_world

from keystead.core.clock import ManualClock
from keystead.service import Keystead

DAY = 86_400


@pytest.fixture
async def world(vault: Keystead) -> AsyncIterator[World]:
    async with open_world(vault) as opened:
        yield opened


async def machine_token(world: World, name: str, *grants: str) -> str:
    answer = await world.client.post(
        "/v1/root_keys", json={"name": name, "permissions": list(grants)}, headers=world.auth()
    )
    assert answer.status_code == 201, answer.text
    plaintext: str = answer.json()["key"]
    return plaintext


async def test_consumers_answer_who_reads_which_version(world: World, clock: ManualClock) -> None:
    ks, me = world.ks, world.operator
    await ks.secrets.put(me, "secret", "payments/stripe", {"api_key": "sk_live_1"})
    await ks.secrets.put(me, "secret", "payments/stripe", {"api_key": "sk_live_2"})
    old = await machine_token(world, "old app", "secrets.read:secret/payments/*")
    new = await machine_token(world, "new app", "secrets.read:secret/payments/*")
    read_at = clock.now()
    await ks.secrets.get(await ks.root_keys.authenticate(old), "secret", "payments/stripe", 1)
    await ks.secrets.get(await ks.root_keys.authenticate(new), "secret", "payments/stripe")

    url = "/v1/secrets/secret/consumers/payments/stripe"
    answer = await world.client.get(url, headers=world.auth())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["mount"], body["path"], body["current_version"]) == (
        "secret",
        "payments/stripe",
        2,
    )
    assert [(i["version"], i["name"], i["reads"]) for i in body["items"]] == [
        (2, "new app", 1),
        (1, "old app", 1),
    ]
    item = body["items"][1]
    assert item["kind"] == "root_key" and item["credential"].startswith("rk_")
    assert item["start"] == old[: len(item["start"])] and len(item["start"]) < len(old)
    assert item["first_read"] == item["last_read"] == iso(read_at)
    assert "sk_live" not in answer.text and old not in answer.text and new not in answer.text

    only = await world.client.get(url, params={"version": 1}, headers=world.auth())
    assert [i["name"] for i in only.json()["items"]] == ["old app"]


async def test_consumers_need_secrets_admin_and_an_existing_secret(world: World) -> None:
    await world.ks.secrets.put(world.operator, "secret", "app", {"k": "v"})
    reader = await machine_token(world, "reader", "secrets.read:secret/app")
    url = "/v1/secrets/secret/consumers/app"
    problem = assert_problem(await world.client.get(url, headers=world.auth(reader)), 403)
    assert "secrets.admin" in problem["detail"]
    missing = "/v1/secrets/secret/consumers/none"
    assert_problem(await world.client.get(missing, headers=world.auth()), 404)
    assert_problem(
        await world.client.get("/v1/secrets/nomount/consumers/app", headers=world.auth()), 404
    )


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/v1/secrets/secret/consumers/a/../b", None),
        ("/v1/secrets/secret/consumers/a//b", None),
        ("/v1/secrets/secret/consumers/a%2F..%2Fb", None),
        ("/v1/secrets/secret/consumers/a%00b", None),
        ("/v1/secrets/secret/consumers/app", {"version": "-1"}),
        ("/v1/secrets/secret/consumers/app", {"version": "x"}),
        ("/v1/secrets/BAD%20MOUNT/consumers/app", None),
    ],
)
async def test_hostile_addresses_are_4xx(
    world: World, url: str, params: dict[str, str] | None
) -> None:
    await world.ks.secrets.put(world.operator, "secret", "app", {"k": "v"})
    response = await world.client.get(url, params=params, headers=world.auth())
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_secret_policy_is_set_read_and_cleared(world: World, clock: ManualClock) -> None:
    await world.ks.secrets.put(world.operator, "secret", "payments/stripe", {"k": "v"})
    written = clock.now()
    url = "/v1/secrets/secret/rotation/payments/stripe"
    none = (await world.client.get(url, headers=world.auth())).json()
    assert (none["source"], none["max_age_s"], none["version"]) == (None, None, 1)

    body = {"max_age_s": 90 * DAY, "warn_before_s": 14 * DAY}
    answer = await world.client.put(url, json=body, headers=world.auth())
    assert answer.status_code == 200, answer.text
    policy = answer.json()
    assert (policy["source"], policy["max_age_s"], policy["warn_before_s"]) == (
        "secret",
        90 * DAY,
        14 * DAY,
    )
    assert policy["created_time"] == iso(written)
    assert policy["due_at"] == iso(written + 90 * DAY)
    assert policy["warn_at"] == iso(written + 76 * DAY)
    assert (await world.client.get(url, headers=world.auth())).json() == policy

    mount = await world.client.put(
        "/v1/secrets/secret/rotation", json={"max_age_s": 30 * DAY}, headers=world.auth()
    )
    assert mount.json() == {
        "mount": "secret",
        "path": None,
        "max_age_s": 30 * DAY,
        "warn_before_s": 0,
        "source": "mount",
        "version": None,
        "created_time": None,
        "warn_at": None,
        "due_at": None,
    }
    cleared = (await world.client.delete(url, headers=world.auth())).json()
    assert (cleared["source"], cleared["max_age_s"]) == ("mount", 30 * DAY)
    gone = await world.client.delete("/v1/secrets/secret/rotation", headers=world.auth())
    assert gone.json()["source"] is None
    assert (await world.client.get(url, headers=world.auth())).json()["source"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"max_age_s": 59},
        {"max_age_s": "90d"},
        {"max_age_s": 3600.5},
        {"max_age_s": 3600, "warn_before_s": 3600},
        {"max_age_s": 3600, "warn_before_s": -1},
        {"max_age_s": 3600, "extra": 1},
        {"max_age_s": 10**30},
    ],
)
async def test_bad_policies_are_422(world: World, body: dict[str, object]) -> None:
    await world.ks.secrets.put(world.operator, "secret", "app", {"k": "v"})
    for url in ("/v1/secrets/secret/rotation/app", "/v1/secrets/secret/rotation"):
        assert_problem(await world.client.put(url, json=body, headers=world.auth()), 422)


async def test_a_mount_default_needs_admin_over_the_whole_mount(world: World) -> None:
    await world.ks.secrets.put(world.operator, "secret", "payments/stripe", {"k": "v"})
    admin = await machine_token(world, "payments admin", "secrets.admin:secret/payments/*")
    h = world.auth(admin)
    body = {"max_age_s": DAY}
    ok = await world.client.put("/v1/secrets/secret/rotation/payments/stripe", json=body, headers=h)
    assert ok.status_code == 200, ok.text
    assert_problem(await world.client.put("/v1/secrets/secret/rotation", json=body, headers=h), 403)


async def test_reads_over_the_http_api_are_counted_per_token_and_version(world: World) -> None:
    c = world.client
    data = "/v1/secrets/secret/data/payments/stripe"
    for value in ("sk_live_old", "sk_live_new"):
        written = await c.put(data, json={"data": {"api_key": value}}, headers=world.auth())
        assert written.status_code == 200, written.text
    legacy = world.auth(await machine_token(world, "legacy", "secrets.read:secret/payments/*"))
    current = world.auth(await machine_token(world, "current", "secrets.read:secret/payments/*"))
    for _ in range(3):
        assert (await c.get(data, params={"version": 1}, headers=legacy)).status_code == 200
    assert (await c.get(data, headers=current)).status_code == 200
    assert (await c.get(f"{data}x", headers=current)).status_code == 404  # not a read
    subkeys = await c.get("/v1/secrets/secret/subkeys/payments/stripe", headers=current)
    assert subkeys.status_code == 200  # field names only: not a read of the value

    answer = await c.get("/v1/secrets/secret/consumers/payments/stripe", headers=world.auth())
    assert [(i["version"], i["name"], i["reads"]) for i in answer.json()["items"]] == [
        (2, "current", 1),
        (1, "legacy", 3),
    ]
