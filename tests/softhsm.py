"""A throwaway SoftHSM2 for the ``pkcs11:`` master key tests: a temporary
``SOFTHSM2_CONF`` pointing at a temporary token directory with two tokens,
initialised with ``softhsm2-util`` (``make system-deps`` installs SoftHSM2; without
it the tests marked :data:`needs_softhsm2` skip)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keystead.keyring import open_keyring
from keystead.keyring.pkcs11 import Pkcs11Keyring

SOFTHSM2 = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "4711-keystead-pin"
PIN_VAR = "KEYSTEAD_TEST_HSM_PIN"
TOKEN = "keystead"

needs_softhsm2 = pytest.mark.skipif(
    not (os.path.exists(SOFTHSM2) and shutil.which("softhsm2-util")),
    reason=f"SoftHSM2 is not installed ({SOFTHSM2}): 'make system-deps' installs it",
)


@dataclass
class Hsm:
    """A throwaway SoftHSM2 with the tokens ``keystead`` and ``other``."""

    conf: Path

    def url(self, token: str = TOKEN, obj: str = "keystead-master") -> str:
        return f"pkcs11:token={token};object={obj}?module-path={SOFTHSM2}&pin-source=env:{PIN_VAR}"

    def keyring(self, token: str = TOKEN, obj: str = "keystead-master") -> Pkcs11Keyring:
        keyring = open_keyring(self.url(token, obj))
        assert isinstance(keyring, Pkcs11Keyring)
        return keyring


def throwaway_hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hsm]:
    """For a fixture: tokens in ``tmp_path``, the PIN in :data:`PIN_VAR`."""
    from keystead.keyring import _pkcs11_token

    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    monkeypatch.setenv(PIN_VAR, PIN)
    for label in (TOKEN, "other"):
        pins = ("--pin", PIN, "--so-pin", "so-" + PIN)
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label, *pins],
            check=True,
            capture_output=True,
            env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        )
    _pkcs11_token.reinitialize(SOFTHSM2)  # a loaded library reads the new config
    yield Hsm(conf)
    _pkcs11_token.reinitialize(SOFTHSM2)  # drop the sessions on this test's tokens
