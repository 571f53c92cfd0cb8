"""The Python client against the real HTTP app (in-process), on every backend."""

from __future__ import annotations

import pytest

from keystead.client import ApiError, Client

from .conftest import BASE_URL, App


def test_apis_and_roles(app: App) -> None:
    ks = app.client
    api = ks.create_api("payments", prefix="pay", key_defaults={"permissions": ["a.read"]})

    role = ks.put_role(api["id"], "admin", ["a.*"], description="everything")

    assert ks.get_api(api["id"]) == api
    assert [a["id"] for a in ks.list_apis()] == [api["id"]]
    assert role["permissions"] == ["a.*"]
    assert [r["name"] for r in ks.list_roles(api["id"])] == ["admin"]
    ks.delete_role(api["id"], "admin")
    assert ks.list_roles(api["id"]) == []
    ks.delete_api(api["id"])
    assert ks.list_apis() == []


def test_key_lifecycle(app: App) -> None:
    ks = app.client
    api = ks.create_api("lifecycle")
    created = ks.create_key(api["id"], name="acme", permissions=["a.read"], meta={"x": 1})
    key_id = created["id"]

    assert created["key"].startswith("ks_")
    assert ks.verify_key(created["key"], permissions="a.read")["valid"] is True
    assert ks.verify_key(created["key"], permissions="a.write")["code"] == (
        "INSUFFICIENT_PERMISSIONS"
    )
    assert "key" not in ks.get_key(key_id)
    assert ks.update_key(key_id, {"name": None, "owner_id": "o1"})["name"] is None
    assert ks.disable_key(key_id)["state"] == "disabled"
    assert ks.verify_key(created["key"])["code"] == "DISABLED"
    assert ks.enable_key(key_id)["state"] == "active"
    assert ks.revoke_key(key_id)["state"] == "revoked"
    assert ks.verify_key(created["key"])["code"] == "REVOKED"
    ks.delete_key(key_id)
    with pytest.raises(ApiError) as caught:
        ks.get_key(key_id)
    assert caught.value.status == 404
    assert caught.value.body is not None and caught.value.body["status"] == 404


def test_batch_and_paging(app: App) -> None:
    ks = app.client
    api = ks.create_api("paging")

    created = ks.create_keys([{"api_id": api["id"], "owner_id": "o"} for _ in range(5)])
    page = ks.list_keys(api_id=api["id"], limit=2)
    every = list(ks.iter_keys(owner_id="o", page_size=2))

    assert len({c["key"] for c in created}) == 5
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert [k["id"] for k in every] == sorted(c["id"] for c in created)


def test_root_keys(app: App) -> None:
    ks = app.client
    created = ks.create_root_key(name="ci", permissions=["keys.verify"])

    listed = ks.list_root_keys()
    revoked = ks.revoke_root_key(created["id"])

    assert created["key"].startswith("ksroot_")
    assert {r["id"] for r in listed} >= {created["id"]}
    assert revoked["revoked_at"] is not None
    with Client(BASE_URL, created["key"], transport=app.transport) as gone:
        with pytest.raises(ApiError) as caught:
            gone.list_apis()
    assert caught.value.status == 401


def test_a_narrow_root_key_gets_403(app: App) -> None:
    narrow = app.client.create_root_key(permissions=["keys.verify"])

    with Client(BASE_URL, narrow["key"], transport=app.transport) as client:
        with pytest.raises(ApiError) as caught:
            client.create_api("nope")
        verdict = client.verify_key("ks_not_a_key")

    assert caught.value.status == 403
    assert verdict == {"valid": False, "code": "MALFORMED"}


def test_errors_carry_the_problem_document(app: App) -> None:
    with pytest.raises(ApiError) as caught:
        app.client.create_key("api_01M81PC07QCGC810KG999WVGT0", permissions=["ok"])

    error = caught.value
    assert (error.status, error.title) == (404, "Not Found")
    assert error.detail and "api_01M81PC07QCGC810KG999WVGT0" in error.detail
    assert "404" in str(error)


def test_health(app: App) -> None:
    assert app.client.health() == {"status": "ok"}
