"""The two forms of webhook secrets and pickups at rest (``keystead.core.at_rest``)."""

from __future__ import annotations

import os

import pytest

from keystead.core.at_rest import (
    ENVELOPE,
    LEGACY,
    LegacyBox,
    is_legacy,
    key_version_of,
    open_item,
    pickup_aad,
    rewrap_item,
    seal_item,
    webhook_secret_aad,
)
from keystead.errors import IntegrityError
from keystead.keyring._material import KeyMaterial, MaterialKeyring


class Keys(MaterialKeyring):
    def __init__(self) -> None:
        self.material = KeyMaterial.generate()

    def _keys(self) -> KeyMaterial:
        return self.material


def test_the_envelope_form_binds_its_place_and_rewraps_without_the_value() -> None:
    keys = Keys()
    here = webhook_secret_aad("ws_1", "wh_1")
    blob = seal_item(b"whsec_x", here, keys)

    assert blob[:1] == ENVELOPE and not is_legacy(blob) and b"whsec_x" not in blob
    assert key_version_of(blob) == 1 and open_item(blob, here, keys) == b"whsec_x"
    for elsewhere in (webhook_secret_aad("ws_2", "wh_1"), webhook_secret_aad("ws_1", "wh_2")):
        with pytest.raises(IntegrityError):
            open_item(blob, elsewhere, keys)
    with pytest.raises(IntegrityError):
        open_item(blob, pickup_aad("ws_1", "wh_1"), keys)  # another kind's label

    keys.material = keys.material.with_new_version()
    moved = rewrap_item(blob, keys)

    assert key_version_of(moved) == 2 and moved[-len(b"whsec_x") - 16 :] == blob[-23:]
    assert open_item(moved, here, keys) == b"whsec_x"


def test_the_legacy_form_opens_only_with_its_key_and_row() -> None:
    box = LegacyBox(os.urandom(32))
    blob = box.seal(b"cu_key", "pck_1")

    assert blob[:1] == LEGACY and is_legacy(blob) and key_version_of(blob) is None
    assert box.open(blob, "pck_1") == b"cu_key"
    with pytest.raises(IntegrityError):
        box.open(blob, "pck_2")
    with pytest.raises(IntegrityError):
        LegacyBox(os.urandom(32)).open(blob, "pck_1")
    with pytest.raises(IntegrityError):
        box.open(blob[:10], "pck_1")
    with pytest.raises(IntegrityError):
        open_item(blob, pickup_aad("ws_1", "pck_1"), Keys())
    assert "LegacyBox(...)" == repr(box) and key_version_of(None) is None
