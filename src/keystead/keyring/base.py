"""The master-key provider protocol and the URI registry that picks one."""

from __future__ import annotations

import importlib
from typing import Protocol

from keystead.core.envelope import KeyWrapper
from keystead.errors import ConfigurationError


class Keyring(KeyWrapper, Protocol):
    """A versioned master key (key-encryption key) behind one URI.

    Nothing here hands out key bytes: a provider wraps and unwraps data keys
    itself, so one backed by an HSM keeps its keys on the device. ``wrap`` uses
    :attr:`current_version`; ``unwrap`` raises ``IntegrityError`` for an unknown
    version or a wrapped key its version did not make. Every other method
    raises ``ConfigurationError`` when the key material is missing or unusable.
    """

    url: str
    """Where the keys live (a path, a variable name): safe to show."""

    read_only: bool
    """Whether :meth:`create` and :meth:`rotate` can work (``env://`` cannot)."""

    def exists(self) -> bool:
        """Whether there is key material at :attr:`url` (not whether it is right)."""
        ...

    def create(self) -> None:
        """Generate version 1 where none exists yet."""
        ...

    def versions(self) -> list[int]:
        """Every version this keyring can unwrap with, ascending."""
        ...

    def rotate(self) -> int:
        """Add a new version, which becomes current; return it."""
        ...

    def retire(self, version: int) -> None:
        """Remove an old version for good (never the current one); what it
        wrapped no longer unwraps. The service checks nothing uses it first."""
        ...


PROVIDERS: dict[str, str] = {
    "file": "keystead.keyring.file:FileKeyring",
    "env": "keystead.keyring.env:EnvKeyring",
    "pkcs11": "keystead.keyring.pkcs11:Pkcs11Keyring",
}
"""URI scheme -> "module:class" of the provider serving it."""

_OPAQUE = {"pkcs11"}
"""Schemes written without ``//`` (RFC 7512: ``pkcs11:token=...``); ``//`` is accepted too."""


def open_keyring(url: str) -> Keyring:
    """The provider named by ``url``'s scheme (see :data:`PROVIDERS`).

    Opening reads nothing yet: a missing file or variable shows in :meth:`Keyring.exists`."""
    scheme, sep, _ = url.partition("://")
    if not sep and url.partition(":")[0].lower() in _OPAQUE:
        scheme, sep = url.partition(":")[0], ":"
    target = PROVIDERS.get(scheme.lower()) if sep else None
    if target is None:
        known = ", ".join(
            f"{name}:" if name in _OPAQUE else f"{name}://" for name in sorted(PROVIDERS)
        )
        shown = f"'{scheme}://'" if sep else "no scheme"
        raise ConfigurationError(
            f"unknown master key URL scheme ({shown}) in KEYSTEAD_MASTER_KEY_URL; "
            f"use one of {known}"
        )
    module_name, _, class_name = target.partition(":")
    provider = getattr(importlib.import_module(module_name), class_name)
    keyring: Keyring = provider.from_url(url)
    return keyring


__all__ = ["PROVIDERS", "Keyring", "open_keyring"]
