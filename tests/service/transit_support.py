"""Shared by the transit service tests: a principal with a transit mount, scoped
service tokens, and one-item encrypt and decrypt."""

from __future__ import annotations

import base64

from keystead.core.authz import Principal
from keystead.core.permissions import GrantSet
from keystead.errors import ValidationError
from keystead.service import Keystead


async def transit_root(vault: Keystead) -> Principal:
    """The local operator, with the mount ``transit`` enabled."""
    principal = await vault.workspaces.local_operator()
    await vault.secrets.enable_mount(principal, "transit", kind="transit")
    return principal


def scoped(root: Principal, *grants: str) -> Principal:
    """A service token of ``root``'s workspace holding only ``grants``."""
    return Principal(root.workspace_id, "root_key:rk_test", GrantSet(grants))


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def one(text: bytes, **extra: object) -> list[dict[str, object]]:
    return [{"plaintext": b64(text), **extra}]


async def encrypt(vault: Keystead, who: Principal, name: str, text: bytes) -> str:
    (result,) = await vault.transit.encrypt(who, "transit", name, one(text))
    assert result.error is None and result.ciphertext is not None
    return result.ciphertext


async def decrypt(vault: Keystead, who: Principal, name: str, ciphertext: str) -> bytes:
    (result,) = await vault.transit.decrypt(who, "transit", name, [{"ciphertext": ciphertext}])
    if result.error is not None:
        raise ValidationError(result.error)
    assert result.plaintext is not None
    return base64.b64decode(result.plaintext)
