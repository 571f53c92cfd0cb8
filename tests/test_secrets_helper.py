"""``keystead.secrets.get`` and the pydantic-settings source, on a real store: the
local store in this process, and a real ``keystead serve`` with a service token."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from typer.testing import CliRunner

from keystead import secrets
from keystead.cli import app
from keystead.client import ApiError, Client
from keystead.errors import NotFound, ValidationError
from keystead.integrations.pydantic_settings import FromKeystead, KeysteadSettingsSource
from serving import Server, serving

STRIPE = "sk_live_51HxQ2eZvKYlo2CTestValue"


@pytest.fixture
def local_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Client]:
    """An initialised SQLite store named by the environment, and its SDK client."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("KEYSTEAD_") and not name.startswith("KEYSTEAD_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEYSTEAD_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("KEYSTEAD_SECRET_FILE", str(tmp_path / "app.secret"))
    assert CliRunner().invoke(app, ["init", "--json"]).exit_code == 0
    secrets.configure()
    client = secrets.default_client()
    try:
        yield client
    finally:
        client.close()
        secrets.configure()


def test_get_reads_a_field_from_the_local_store(local_store: Client) -> None:
    local_store.put_secret("payments", {"stripe_key": STRIPE, "account": "acct_1"})

    assert secrets.get("secret/payments#stripe_key") == STRIPE
    assert secrets.get("keystead://secret/payments#account") == "acct_1"


def test_the_cache_keeps_a_secret_for_its_ttl(local_store: Client) -> None:
    local_store.put_secret("payments", {"stripe_key": "sk_one"})
    assert secrets.get("secret/payments#stripe_key") == "sk_one"
    local_store.put_secret("payments", {"stripe_key": "sk_two"})

    assert secrets.get("secret/payments#stripe_key") == "sk_one"  # kept
    assert secrets.get("secret/payments#stripe_key", ttl=0) == "sk_two"  # asked again
    secrets.clear_cache()
    assert secrets.get("secret/payments#stripe_key") == "sk_two"
    secrets.configure(ttl=0)
    local_store.put_secret("payments", {"stripe_key": "sk_three"})
    assert secrets.get("secret/payments#stripe_key") == "sk_three"


def test_a_reader_asks_again_once_its_ttl_has_passed(local_store: Client) -> None:
    now = [100.0]
    reader = secrets.SecretReader(local_store, ttl=10, clock=lambda: now[0])
    local_store.put_secret("payments", {"stripe_key": "sk_one"})
    assert reader.get("secret/payments#stripe_key") == "sk_one"
    local_store.put_secret("payments", {"stripe_key": "sk_two"})

    now[0] = 109.9
    assert reader.get("secret/payments#stripe_key") == "sk_one"
    assert reader.get("secret/payments#stripe_key", ttl=5) == "sk_two"  # older than 5 s
    local_store.put_secret("payments", {"stripe_key": "sk_three"})
    now[0] = 119.8
    assert reader.get("secret/payments#stripe_key") == "sk_two"  # kept anew at 109.9
    now[0] = 119.9
    assert reader.get("secret/payments#stripe_key") == "sk_three"
    reader.close()
    assert local_store.read_secret("payments")["data"] == {"stripe_key": "sk_three"}  # not closed


def test_errors(local_store: Client) -> None:
    local_store.put_secret("payments", {"stripe_key": STRIPE})
    with pytest.raises(NotFound, match="no field 'nope'"):
        secrets.get("secret/payments#nope")
    with pytest.raises(ValidationError, match="names no field"):
        secrets.get("secret/payments")
    with pytest.raises(ValidationError):
        secrets.get("secret/../etc#x")
    with pytest.raises(ApiError) as raised:
        secrets.get("secret/missing#x")
    assert raised.value.status == 404


class AppSettings(BaseSettings):
    stripe_key: Annotated[SecretStr, FromKeystead("secret/payments#stripe_key")]
    account: str = Field(json_schema_extra={"keystead": "secret/payments#account"})
    log_level: str = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, KeysteadSettingsSource(settings_cls))


def test_a_settings_class_reads_its_fields_from_keystead(
    local_store: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_store.put_secret("payments", {"stripe_key": STRIPE, "account": "acct_1"})

    settings = AppSettings()
    assert settings.stripe_key.get_secret_value() == STRIPE
    assert (settings.account, settings.log_level) == ("acct_1", "info")
    assert STRIPE not in repr(settings)

    monkeypatch.setenv("ACCOUNT", "from-env")  # listed first: the environment wins
    assert AppSettings().account == "from-env"


def test_settings_do_not_build_without_their_secret(local_store: Client) -> None:
    with pytest.raises(ApiError):
        AppSettings()


def test_a_reference_without_a_field_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(ValueError, match="names no field"):
        FromKeystead("secret/payments")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("secrets-helper")) as running:
        yield running


def test_get_against_a_server_with_a_service_token(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with Client(server.url, server.root_key) as admin:
        admin.put_secret("payments", {"stripe_key": STRIPE})
        admin.put_secret("billing", {"token": "tok_other"})
        token = admin.create_root_key(name="app", permissions=["secrets.read:secret/payments"])
    key_file = tmp_path / "token"
    key_file.write_text(token["key"] + "\n")
    for name in list(os.environ):
        if name.startswith("KEYSTEAD_") and not name.startswith("KEYSTEAD_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEYSTEAD_URL", server.url)
    monkeypatch.setenv("KEYSTEAD_ROOT_KEY_FILE", str(key_file))
    secrets.configure()
    try:
        assert secrets.get("secret/payments#stripe_key") == STRIPE
        with pytest.raises(ApiError) as raised:
            secrets.get("secret/billing#token")
        assert raised.value.status == 403
    finally:
        secrets.configure()
