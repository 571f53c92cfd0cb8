"""KV version 2 through the unchanged ``hvac`` client against a real ``keystead
serve``, on SQLite and PostgreSQL (docs/secrets.md, "Vault compatibility")."""

from __future__ import annotations

import hvac
import pytest
from hvac import exceptions

from .conftest import Vault


@pytest.mark.filterwarnings("ignore:The raise_on_deleted_version parameter:DeprecationWarning")
def test_the_issue_snippet_verbatim(
    vault: Vault, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.client().secrets.kv.v2.create_or_update_secret(
        path=f"{name}/myapp", secret={"api_key": "sk_live_123"}
    )
    monkeypatch.setenv("VAULT_ADDR", vault.url)
    monkeypatch.setenv("VAULT_TOKEN", vault.root_key)
    path = f"{name}/myapp"
    assert hvac.Client().secrets.kv.v2.read_secret(path=path)["data"]["data"]["api_key"] == (
        "sk_live_123"
    )


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
