"""``pkcs11:``: the master key on a SoftHSM2 token, used there and never read out.

Each test gets throwaway tokens (tests/softhsm.py): a temporary ``SOFTHSM2_CONF``
pointing at a temporary token directory, initialised with ``softhsm2-util``. ``make
system-deps`` installs SoftHSM2; without it these tests skip.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.core.envelope import Sealed, rewrap, seal, secret_aad, unseal
from keystead.errors import ConfigurationError, IntegrityError, MissingDependency
from keystead.keyring import open_keyring
from keystead.keyring.pkcs11 import Pkcs11Keyring, parse_url
from keystead.service import Keystead
from softhsm import PIN, PIN_VAR, SOFTHSM2, Hsm, needs_softhsm2, throwaway_hsm

HSM_EXAMPLE = f"pkcs11:token=t?module-path={SOFTHSM2}&pin-source=env:{PIN_VAR}"
HERE = secret_aad("ws_1", "secret", "payments/stripe", 1)


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hsm]:
    yield from throwaway_hsm(tmp_path, monkeypatch)


def test_the_uri_is_rfc_7512_and_the_scheme_picks_the_provider() -> None:
    url = (
        "pkcs11:token=key%20stead;object=mk?module-path=/usr/lib/x.so"
        "&pin-source=env:KEYSTEAD_HSM_PIN"
    )
    keyring = open_keyring(url)
    slashed = open_keyring(url.replace("pkcs11:", "pkcs11://"))

    assert isinstance(keyring, Pkcs11Keyring) and isinstance(slashed, Pkcs11Keyring)
    assert (keyring.token_label, keyring.object_label) == ("key stead", "mk")
    assert (keyring.module_path, keyring.pin_source) == ("/usr/lib/x.so", "env:KEYSTEAD_HSM_PIN")
    assert slashed.url == keyring.url
    assert parse_url(keyring.url) == parse_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pkcs11:token=t?module-path=/x.so&pin-value=123456", "must not hold the PIN"),
        ("pkcs11:token=t?module-path=/x.so", "needs module-path and pin-source"),
        ("pkcs11:token=t?pin-source=env:P", "needs module-path and pin-source"),
        ("pkcs11:object=o?module-path=/x.so&pin-source=env:P", "names its token"),
        ("pkcs11:token=t?module-path=/x.so&pin-source=123456", "pin-source must be"),
        ("pkcs11:token=t;colour=red?module-path=/x.so&pin-source=env:P", "not supported"),
    ],
)
def test_a_bad_uri_is_a_clear_error_without_the_pin(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        open_keyring(url)

    assert "123456" not in str(raised.value)


@needs_softhsm2
def test_create_wrap_unwrap_round_trip(hsm: Hsm) -> None:
    keyring = hsm.keyring()
    assert not keyring.exists()

    keyring.create()
    keyring.create()  # idempotent: still one version
    data_key = os.urandom(32)
    version, wrapped = keyring.wrap(data_key)

    assert keyring.exists() and keyring.versions() == [1] and version == 1
    assert len(wrapped) == 40  # RFC 3394 of 32 bytes, as file:// makes
    assert wrapped != data_key and data_key not in wrapped
    assert keyring.unwrap(1, wrapped) == data_key
    assert hsm.keyring().unwrap(1, wrapped) == data_key  # another instance, same token


@needs_softhsm2
def test_rotation_adds_a_version_and_old_ones_still_unwrap(hsm: Hsm) -> None:
    keyring = hsm.keyring()
    keyring.create()
    old_key = os.urandom(32)
    _, old = keyring.wrap(old_key)

    assert keyring.rotate() == 2
    other_process_view = hsm.keyring()
    new_version, new = other_process_view.wrap(b"k" * 32)

    assert (keyring.versions(), keyring.current_version, new_version) == ([1, 2], 2, 2)
    assert keyring.unwrap(1, old) == old_key
    assert keyring.unwrap(2, new) == b"k" * 32
    with pytest.raises(IntegrityError, match="does not unwrap under master key version 2"):
        keyring.unwrap(2, old)
    with pytest.raises(IntegrityError, match="version 9 is not in the keyring"):
        keyring.unwrap(9, old)


@needs_softhsm2
def test_the_master_key_cannot_be_read_or_exported(hsm: Hsm) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11 import exceptions as px
    from pkcs11.types import WrapMixin

    keyring = hsm.keyring()
    keyring.create()
    keyring.rotate()
    token = pkcs11.lib(SOFTHSM2).get_token(token_label="keystead")
    session = token.open(rw=True)  # the keyring's session is logged in: this one shares it
    try:
        for version in (1, 2):
            (ref,) = keyring.key_refs(version)
            key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=ref.label)
            assert ref.label == f"keystead-master-v{version}"
            assert key[Attribute.EXTRACTABLE] is False
            assert key[Attribute.SENSITIVE] is True
            assert key[Attribute.NEVER_EXTRACTABLE] is True
            assert key[Attribute.ALWAYS_SENSITIVE] is True
            assert key[Attribute.TOKEN] is True
            assert key[Attribute.KEY_TYPE] == KeyType.AES
            assert key[Attribute.VALUE_LEN] == 32

            with pytest.raises(px.AttributeSensitive):
                key[Attribute.VALUE]
            exporter = session.generate_key(
                KeyType.AES, 256, store=False, template={Attribute.WRAP: True}
            )
            assert isinstance(exporter, WrapMixin)
            for mechanism in (Mechanism.AES_KEY_WRAP, Mechanism.AES_KEY_WRAP_PAD):
                with pytest.raises(px.KeyUnextractable):
                    exporter.wrap_key(key, mechanism=mechanism)
            # CKA_MODIFIABLE is false, and PKCS#11 never lets these two go back anyway
            # (SoftHSM2 answers CKR_ACTION_PROHIBITED, which python-pkcs11 leaves unmapped)
            with pytest.raises(px.PKCS11Error):
                key[Attribute.EXTRACTABLE] = True
            with pytest.raises(px.PKCS11Error):
                key[Attribute.SENSITIVE] = False
            assert (key[Attribute.EXTRACTABLE], key[Attribute.SENSITIVE]) == (False, True)
            exporter.destroy()
    finally:
        session.close()


@needs_softhsm2
def test_the_envelope_seals_opens_and_rewraps_with_the_token(hsm: Hsm) -> None:
    keyring = hsm.keyring()
    keyring.create()
    sealed = seal(b"sk_live_value", HERE, keyring)
    text = sealed.to_text()

    keyring.rotate()
    moved = rewrap(Sealed.from_text(text), keyring)

    assert sealed.key_version == 1 and moved.key_version == 2
    assert (moved.nonce, moved.ciphertext) == (sealed.nonce, sealed.ciphertext)
    assert unseal(Sealed.from_text(text), HERE, keyring) == b"sk_live_value"
    assert unseal(moved, HERE, keyring) == b"sk_live_value"
    with pytest.raises(IntegrityError):
        unseal(moved, secret_aad("ws_1", "secret", "payments/other", 1), keyring)
    stranger = hsm.keyring(obj="someone-else")
    stranger.create()
    with pytest.raises(IntegrityError):
        unseal(moved, HERE, stranger)


def _settings(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"master_key_url": url})


@needs_softhsm2
async def test_the_service_checks_the_store_against_the_token(hsm: Hsm, settings: Settings) -> None:
    ks = await Keystead.open(settings=_settings(settings, hsm.url()), create_master_key=True)
    try:
        assert ks.master_keys.created
        sealed = seal(b"value", HERE, ks.keyring)
        status = await ks.master_keys.status()
        rotated = await ks.master_keys.rotate()
    finally:
        await ks.close()

    assert (status.present, status.versions, status.checked) == (True, [1], True)
    assert (rotated.versions, rotated.current_version, rotated.check_version) == ([1, 2], 2, 1)
    assert not (settings.secret_file.parent / "keystead-master-key.secret").exists()
    reopened = await Keystead.open(settings=_settings(settings, hsm.url()))
    try:
        assert unseal(sealed, HERE, reopened.keyring) == b"value"
    finally:
        await reopened.close()

    other_token = hsm.url(token="other")
    hsm.keyring(token="other").create()
    for wrong in (other_token, hsm.url(obj="another-master")):
        if wrong != other_token:
            hsm.keyring(obj="another-master").create()
        with pytest.raises(ConfigurationError, match="does not match the one this database"):
            await Keystead.open(settings=_settings(settings, wrong))
    with pytest.raises(ConfigurationError, match="there is none at pkcs11:token=keystead"):
        await Keystead.open(settings=_settings(settings, hsm.url(obj="never-made")))


@needs_softhsm2
def test_no_pin_in_reprs_errors_or_logs(
    hsm: Hsm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keyring = hsm.keyring()
    keyring.create()
    shown = [repr(keyring), keyring.url, str(keyring.__dict__)]

    from keystead.keyring import _pkcs11_token

    _pkcs11_token.reinitialize(SOFTHSM2)  # log in again, now with a wrong PIN
    monkeypatch.setenv(PIN_VAR, "0000-wrong-" + PIN)
    with pytest.raises(ConfigurationError, match="refused the PIN") as wrong_pin:
        keyring.versions()
    shown.append(str(wrong_pin.value))
    monkeypatch.delenv(PIN_VAR)
    with pytest.raises(ConfigurationError, match=f"{PIN_VAR} is not set") as no_pin:
        hsm.keyring().versions()
    shown.append(str(no_pin.value))

    assert "env:" + PIN_VAR in repr(keyring)
    for text in [*shown, caplog.text]:
        assert PIN not in text


@needs_softhsm2
def test_a_pin_file_must_be_private(hsm: Hsm, tmp_path: Path) -> None:
    from keystead.keyring import _pkcs11_token

    _pkcs11_token.reinitialize(SOFTHSM2)
    pin_file = tmp_path / "hsm.pin"
    pin_file.write_text(PIN + "\n")
    pin_file.chmod(0o644)
    url = hsm.url().replace(f"env:{PIN_VAR}", f"file:{pin_file}")

    with pytest.raises(ConfigurationError, match="readable by other users") as raised:
        open_keyring(url).exists()
    pin_file.chmod(0o600)
    keyring = open_keyring(url)
    keyring.create()

    assert PIN not in str(raised.value)
    assert keyring.versions() == [1]


@needs_softhsm2
def test_a_missing_token_or_module_is_a_configuration_error(hsm: Hsm) -> None:
    with pytest.raises(ConfigurationError, match="no token 'absent'"):
        hsm.keyring(token="absent").exists()
    url = hsm.url().replace(SOFTHSM2, "/nonexistent/libpkcs11.so")
    with pytest.raises(ConfigurationError, match="could not load the PKCS#11 module"):
        open_keyring(url).exists()


def test_the_driver_is_an_optional_extra_imported_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    code = (
        "import sys, keystead, keystead.keyring, keystead.service;"
        "from keystead.keyring import open_keyring;"
        f"open_keyring({HSM_EXAMPLE!r});"
        "assert 'pkcs11' not in sys.modules, 'imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

    monkeypatch.setitem(sys.modules, "pkcs11", None)  # as if keystead[hsm] were not installed
    monkeypatch.delitem(sys.modules, "keystead.keyring._pkcs11_token", raising=False)
    with pytest.raises(MissingDependency, match=r"pip install 'keystead\[hsm\]'"):
        open_keyring(HSM_EXAMPLE).exists()


@needs_softhsm2
def test_threads_share_the_token_session_safely(hsm: Hsm) -> None:
    from concurrent.futures import ThreadPoolExecutor

    keyring = hsm.keyring()
    keyring.create()

    def round_trip(n: int) -> bool:
        data_key = os.urandom(32)
        version, wrapped = keyring.wrap(data_key)
        return keyring.unwrap(version, wrapped) == data_key

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(round_trip, range(400)))


@needs_softhsm2
def test_a_rotation_by_another_process_is_seen(hsm: Hsm, monkeypatch: pytest.MonkeyPatch) -> None:
    from keystead.keyring import pkcs11 as provider

    serving, operator = hsm.keyring(), hsm.keyring()
    serving.create()
    assert serving.wrap(b"a" * 32)[0] == 1  # the listing is now cached

    assert operator.rotate() == 2
    _, by_operator = operator.wrap(b"b" * 32)

    assert serving.unwrap(2, by_operator) == b"b" * 32  # an unknown version: asked at once
    monkeypatch.setattr(provider, "RELIST_SECONDS", 0.0)
    assert serving.wrap(b"c" * 32)[0] == 2  # new wraps: once the listing is older than that
