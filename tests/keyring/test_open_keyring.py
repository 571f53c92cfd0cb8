"""``open_keyring``: the URL's scheme picks the provider, from an explicit registry."""

from __future__ import annotations

import pytest

from keystead.config import Settings
from keystead.errors import ConfigurationError
from keystead.keyring import PROVIDERS, open_keyring
from keystead.keyring.env import EnvKeyring
from keystead.keyring.file import FileKeyring


def test_the_registry_names_every_provider() -> None:
    assert sorted(PROVIDERS) == ["env", "file", "pkcs11"]


@pytest.mark.parametrize(
    "url", ["vault://secret", "kms://alias/x", "/etc/keystead/master", "sk_live_abc"]
)
def test_an_unknown_scheme_is_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="unknown master key URL scheme") as raised:
        open_keyring(url)

    assert "file://" in str(raised.value) and "env://" in str(raised.value)
    assert "sk_live_abc" not in str(raised.value)


def test_file_paths_are_everything_after_the_scheme() -> None:
    absolute = open_keyring("file:///etc/keystead/master.secret")
    relative = open_keyring("file://keys/master.secret")

    assert isinstance(absolute, FileKeyring) and isinstance(relative, FileKeyring)
    assert str(absolute.path) == "/etc/keystead/master.secret"
    assert str(relative.path) == "keys/master.secret"


@pytest.mark.parametrize("url", ["file://", "env://", "env://NOT-A-NAME"])
def test_a_url_without_a_location_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_keyring(url)


def test_env_urls_name_a_variable() -> None:
    keyring = open_keyring("env://KEYSTEAD_MASTER_KEY")

    assert isinstance(keyring, EnvKeyring)
    assert keyring.name == "KEYSTEAD_MASTER_KEY"


def test_the_default_is_a_file_beside_the_secret_file(tmp_path: object) -> None:
    default = Settings(_env_file=None)
    beside = Settings(_env_file=None, secret_file="/srv/keystead/server.secret")
    chosen = Settings(_env_file=None, master_key_url="env://MK")

    assert default.master_key_location() == "file://keystead-master-key.secret"
    assert beside.master_key_location() == "file:///srv/keystead/keystead-master-key.secret"
    assert chosen.master_key_location() == "env://MK"
