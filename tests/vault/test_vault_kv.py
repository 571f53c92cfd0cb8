"""KV version 2 through the unchanged ``hvac`` client against a real ``keystead
serve``, on SQLite and PostgreSQL (docs/secrets.md, "Vault compatibility")."""

from __future__ import annotations

import hvac
import pytest
from hvac import exceptions

from .conftest import Vault

HVAC_DEFAULT_READ = pytest.mark.filterwarnings(
    "ignore:The raise_on_deleted_version parameter:DeprecationWarning"
)
"""hvac warns when a read leaves ``raise_on_deleted_version`` to its default, as the
issue's snippet and hvac's own ``patch`` do."""


@HVAC_DEFAULT_READ
def test_the_issue_snippet_verbatim(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    vault.client().secrets.kv.v2.create_or_update_secret(
        path="myapp", secret={"api_key": "sk_live_123"}
    )
    monkeypatch.setenv("VAULT_ADDR", vault.url)
    monkeypatch.setenv("VAULT_TOKEN", vault.root_key)
    api_key = hvac.Client().secrets.kv.v2.read_secret(path="myapp")["data"]["data"]["api_key"]
    assert api_key == "sk_live_123"


def test_write_then_read_answers_vaults_envelope(vault: Vault, name: str) -> None:
    kv = vault.client().secrets.kv.v2
    written = kv.create_or_update_secret(path=name, secret={"user": "app", "password": "pw1"})
    assert written["data"]["version"] == 1
    assert written["data"]["deletion_time"] == ""
    assert written["data"]["destroyed"] is False
    assert written["data"]["created_time"].endswith("Z")
    read = kv.read_secret(path=name, raise_on_deleted_version=True)
    assert read["data"]["data"] == {"user": "app", "password": "pw1"}
    assert read["data"]["metadata"]["version"] == 1
    for key in ("request_id", "lease_id", "renewable", "lease_duration", "wrap_info", "warnings"):
        assert key in read
    assert read["lease_id"] == "" and read["renewable"] is False and read["lease_duration"] == 0
    assert read["auth"] is None and read["mount_type"] == "kv"


def test_an_unknown_secret_is_invalid_path(vault: Vault, name: str) -> None:
    with pytest.raises(exceptions.InvalidPath):
        vault.client().secrets.kv.v2.read_secret(path=name, raise_on_deleted_version=True)


def test_check_and_set(vault: Vault, name: str) -> None:
    kv = vault.client().secrets.kv.v2
    assert kv.create_or_update_secret(path=name, secret={"a": "1"}, cas=0)["data"]["version"] == 1
    with pytest.raises(exceptions.InvalidRequest, match="check-and-set"):
        kv.create_or_update_secret(path=name, secret={"a": "2"}, cas=0)
    assert kv.create_or_update_secret(path=name, secret={"a": "2"}, cas=1)["data"]["version"] == 2
    with pytest.raises(exceptions.InvalidRequest, match="check-and-set") as raised:
        kv.create_or_update_secret(path=name, secret={"a": "3"}, cas=1)
    assert raised.value.json == {"errors": raised.value.errors}
    assert kv.read_secret(path=name, raise_on_deleted_version=True)["data"]["data"] == {"a": "2"}


@HVAC_DEFAULT_READ
def test_patch_merges_into_a_new_version(vault: Vault, name: str) -> None:
    kv = vault.client().secrets.kv.v2
    kv.create_or_update_secret(path=name, secret={"user": "app", "password": "old"})
    patched = kv.patch(path=name, secret={"password": "new"})
    assert patched["data"]["version"] == 2
    read = kv.read_secret(path=name, raise_on_deleted_version=True)
    assert read["data"]["data"] == {"user": "app", "password": "new"}
    with pytest.raises(exceptions.InvalidPath):
        kv.patch(path=f"{name}-missing", secret={"a": "b"})


def test_http_patch_is_a_json_merge_patch(vault: Vault, name: str) -> None:
    client = vault.client()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"a": "1", "b": "2"})
    url = f"/v1/secret/data/{name}"
    merge = {"Content-Type": "application/merge-patch+json"}
    answer = client.adapter.request(
        "PATCH", url, json={"data": {"a": None, "c": "3"}, "options": {"cas": 1}}, headers=merge
    )
    assert answer["data"]["version"] == 2
    read = client.secrets.kv.v2.read_secret(path=name, raise_on_deleted_version=True)
    assert read["data"]["data"] == {"b": "2", "c": "3"}
    with pytest.raises(exceptions.InvalidRequest, match="check-and-set"):
        client.adapter.request(
            "PATCH", url, json={"data": {"a": "x"}, "options": {"cas": 1}}, headers=merge
        )
    with pytest.raises(exceptions.UnexpectedError, match="merge-patch") as raised:
        client.adapter.request("PATCH", url, json={"data": {"a": "x"}})
    assert "415" not in str(raised.value) or raised.value.errors


def test_read_older_versions(vault: Vault, name: str) -> None:
    kv = vault.client().secrets.kv.v2
    for value in ("one", "two", "three"):
        kv.create_or_update_secret(path=name, secret={"v": value})
    for number, value in ((1, "one"), (2, "two"), (3, "three")):
        read = kv.read_secret_version(path=name, version=number, raise_on_deleted_version=True)
        assert read["data"]["data"] == {"v": value}
        assert read["data"]["metadata"]["version"] == number
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret_version(path=name, version=9, raise_on_deleted_version=True)
    with pytest.raises(exceptions.InvalidRequest):
        kv.read_secret_version(path=name, version="x", raise_on_deleted_version=True)


def test_delete_latest_then_read_is_a_404_with_the_metadata(vault: Vault, name: str) -> None:
    kv = vault.client().secrets.kv.v2
    kv.create_or_update_secret(path=name, secret={"v": "1"})
    kv.create_or_update_secret(path=name, secret={"v": "2"})
    assert kv.delete_latest_version_of_secret(path=name).status_code == 204
    with pytest.raises(exceptions.InvalidPath) as raised:
        kv.read_secret(path=name, raise_on_deleted_version=True)
    body = raised.value.json
    assert body["data"]["data"] is None
    assert body["data"]["metadata"]["version"] == 2
    assert body["data"]["metadata"]["deletion_time"] != ""
    # hvac's own handling: without raising, the deleted version's metadata comes back
    gone = kv.read_secret(path=name, raise_on_deleted_version=False)
    assert gone["data"]["data"] is None and gone["data"]["metadata"]["version"] == 2
    older = kv.read_secret_version(path=name, version=1, raise_on_deleted_version=True)
    assert older["data"]["data"] == {"v": "1"}


def test_delete_undelete_and_destroy_versions(vault: Vault, name: str) -> None:
    kv = vault.client().secrets.kv.v2
    kv.create_or_update_secret(path=name, secret={"v": "1"})
    kv.create_or_update_secret(path=name, secret={"v": "2"})
    assert kv.delete_secret_versions(path=name, versions=[1]).status_code == 204
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret_version(path=name, version=1, raise_on_deleted_version=True)
    assert kv.undelete_secret_versions(path=name, versions=[1]).status_code == 204
    read = kv.read_secret_version(path=name, version=1, raise_on_deleted_version=True)
    assert read["data"]["data"] == {"v": "1"}
    assert kv.destroy_secret_versions(path=name, versions=[1]).status_code == 204
    with pytest.raises(exceptions.InvalidPath) as raised:
        kv.read_secret_version(path=name, version=1, raise_on_deleted_version=False)
    assert raised.value.json["data"]["metadata"]["destroyed"] is True
    versions = kv.read_secret_metadata(path=name)["data"]["versions"]
    assert versions["1"]["destroyed"] is True and versions["2"]["destroyed"] is False
    with pytest.raises(exceptions.InvalidRequest, match="version"):
        vault.client().adapter.post(f"/v1/secret/delete/{name}", json={})


def test_metadata_read_update_and_delete(vault: Vault, name: str) -> None:
    kv = vault.client().secrets.kv.v2
    kv.create_or_update_secret(path=name, secret={"v": "1"})
    kv.create_or_update_secret(path=name, secret={"v": "2"})
    meta = kv.read_secret_metadata(path=name)["data"]
    assert meta["current_version"] == 2 and meta["oldest_version"] == 1
    assert meta["delete_version_after"] == "0s" and meta["max_versions"] == 0
    assert meta["cas_required"] is False and meta["custom_metadata"] is None
    assert set(meta["versions"]) == {"1", "2"}
    assert meta["created_time"].endswith("Z") and meta["updated_time"].endswith("Z")
    kv.update_metadata(
        path=name,
        max_versions=5,
        cas_required=True,
        delete_version_after="1h30m",
        custom_metadata={"owner": "payments"},
    )
    meta = kv.read_secret_metadata(path=name)["data"]
    assert meta["max_versions"] == 5 and meta["cas_required"] is True
    assert meta["delete_version_after"] == "1h30m0s"
    assert meta["custom_metadata"] == {"owner": "payments"}
    with pytest.raises(exceptions.InvalidRequest, match="check-and-set"):
        kv.create_or_update_secret(path=name, secret={"v": "3"})
    read = kv.read_secret(path=name, raise_on_deleted_version=True)
    assert read["data"]["metadata"]["custom_metadata"] == {"owner": "payments"}
    with pytest.raises(exceptions.InvalidRequest, match="delete_version_after"):
        kv.update_metadata(path=name, delete_version_after="soon")
    kv.delete_metadata_and_all_versions(path=name)
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret_metadata(path=name)
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret_version(path=name, version=1, raise_on_deleted_version=True)


def test_metadata_patch_merges_custom_metadata(vault: Vault, name: str) -> None:
    client = vault.client()
    kv = client.secrets.kv.v2
    kv.create_or_update_secret(path=name, secret={"v": "1"})
    kv.update_metadata(path=name, custom_metadata={"a": "1", "b": "2"})
    client.adapter.request(
        "PATCH",
        f"/v1/secret/metadata/{name}",
        json={"custom_metadata": {"a": None, "c": "3"}, "max_versions": 3},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    meta = kv.read_secret_metadata(path=name)["data"]
    assert meta["custom_metadata"] == {"b": "2", "c": "3"} and meta["max_versions"] == 3


def test_list_secrets(vault: Vault, name: str) -> None:
    kv = vault.client().secrets.kv.v2
    for path in ("app/db", "app/api", "app/nested/deep", "other"):
        kv.create_or_update_secret(path=f"{name}/{path}", secret={"v": "x"})
    assert kv.list_secrets(path=name)["data"]["keys"] == ["app/", "other"]
    assert kv.list_secrets(path=f"{name}/app/")["data"]["keys"] == ["api", "db", "nested/"]
    with pytest.raises(exceptions.InvalidPath) as raised:
        kv.list_secrets(path=f"{name}/nothing-here")
    assert raised.value.json == {"errors": []}
    listed = vault.client().adapter.get(f"/v1/secret/metadata/{name}/app", params={"list": "true"})
    assert listed["data"]["keys"] == ["api", "db", "nested/"]


def test_subkeys(vault: Vault, name: str) -> None:
    client = vault.client()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"b": "2", "a": "1"})
    answer = client.adapter.get(f"/v1/secret/subkeys/{name}")
    assert answer["data"]["subkeys"] == {"a": None, "b": None}
    assert answer["data"]["metadata"]["version"] == 1


def test_mounts_enable_and_configure(vault: Vault, name: str) -> None:
    client = vault.client()
    mount = f"kv{name}"
    client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    client.sys.enable_secrets_engine("kv-v2", path=f"{mount}b")
    mounts = client.sys.list_mounted_secrets_engines()
    assert mounts["data"]["secret/"]["type"] == "kv"
    assert mounts["data"][f"{mount}/"]["options"] == {"version": "2"}
    assert f"{mount}b/" in mounts["data"]
    assert client.sys.retrieve_mount_option(mount, "version") == "2"
    assert client.sys.read_mount_configuration(mount)["data"]["options"] == {"version": "2"}
    kv = client.secrets.kv.v2
    assert kv.read_configuration(mount_point=mount)["data"] == {
        "cas_required": False,
        "delete_version_after": "0s",
        "max_versions": 0,
    }
    kv.configure(max_versions=4, cas_required=True, delete_version_after="2h45m", mount_point=mount)
    assert kv.read_configuration(mount_point=mount)["data"] == {
        "cas_required": True,
        "delete_version_after": "2h45m0s",
        "max_versions": 4,
    }
    with pytest.raises(exceptions.InvalidRequest, match="check-and-set"):
        kv.create_or_update_secret(path="x", secret={"a": "1"}, mount_point=mount)
    kv.create_or_update_secret(path="x", secret={"a": "1"}, cas=0, mount_point=mount)
    read = kv.read_secret(path="x", mount_point=mount, raise_on_deleted_version=True)
    assert read["data"]["metadata"]["deletion_time"] != ""  # due in 2h45m
    with pytest.raises(exceptions.InvalidRequest, match="already in use"):
        client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    with pytest.raises(exceptions.InvalidRequest, match="KV version 1"):
        client.sys.enable_secrets_engine("kv", path=f"{mount}v1")
    with pytest.raises(exceptions.InvalidRequest):
        client.sys.enable_secrets_engine("database", path=f"{mount}db")
    with pytest.raises(exceptions.InvalidPath):
        kv.read_secret(path="x", mount_point=f"{mount}-none", raise_on_deleted_version=True)


def test_health_and_is_authenticated(vault: Vault) -> None:
    client = vault.client()
    health = client.sys.read_health_status(method="GET")
    assert health["initialized"] is True and health["sealed"] is False
    assert client.sys.is_initialized() is True and client.sys.is_sealed() is False
    assert client.is_authenticated() is True
    assert client.auth.token.lookup_self()["data"]["id"] != vault.root_key
    assert vault.client(token="not-a-token").is_authenticated() is False
    assert vault.client(token=vault.root_key[:-2] + "xx").is_authenticated() is False
    assert hvac.Client(url=vault.url).is_authenticated() is False


def test_hvac_exceptions_for_every_error(vault: Vault, name: str) -> None:
    client = vault.client()
    client.secrets.kv.v2.create_or_update_secret(path=f"{name}/a", secret={"v": "1"})
    # 403: no token, a bad token, a token scoped elsewhere
    with pytest.raises(exceptions.Forbidden, match="permission denied"):
        hvac.Client(url=vault.url).secrets.kv.v2.read_secret(
            path=f"{name}/a", raise_on_deleted_version=True
        )
    elsewhere = vault.client(vault.scoped(f"secrets.read:secret/{name}/b/*"))
    with pytest.raises(exceptions.Forbidden):
        elsewhere.secrets.kv.v2.read_secret(path=f"{name}/a", raise_on_deleted_version=True)
    # 404: another workspace's secret does not exist
    other = vault.client(vault.other_workspace_key)
    with pytest.raises(exceptions.InvalidPath):
        other.secrets.kv.v2.read_secret(path=f"{name}/a", raise_on_deleted_version=True)
    # 400: bad input
    with pytest.raises(exceptions.InvalidRequest):
        client.secrets.kv.v2.create_or_update_secret(path=f"{name}/a", secret={"v": 1})
    with pytest.raises(exceptions.InvalidRequest):
        client.secrets.kv.v2.create_or_update_secret(path=f"{name}/%2e%2e/x", secret={"v": "1"})
    # 405 and 413: hvac's UnexpectedError
    with pytest.raises(exceptions.UnexpectedError):
        client.adapter.put("/v1/sys/mounts", json={})
    with pytest.raises(exceptions.UnexpectedError):
        client.secrets.kv.v2.create_or_update_secret(
            path=f"{name}/big", secret={"v": "x" * 600_000}
        )
