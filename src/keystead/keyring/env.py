"""``env://NAME``: the master keys from the environment variable ``NAME``.

The value is either one base64 key (32 bytes once decoded), which is version 1,
or comma-separated ``VERSION:BASE64`` pairs, e.g. ``1:q1...=,2:Zm...=``; the
highest version is current. Read-only: to rotate, add ``N+1:<new key>`` to the
variable and restart every node (``openssl rand -base64 32`` makes a key).
The variable is read when used, so it is never copied anywhere else.
"""

from __future__ import annotations

import os

from keystead.errors import ConfigurationError
from keystead.keyring._material import KeyMaterial, MaterialKeyring, decode_kek, material_of


class EnvKeyring(MaterialKeyring):
    """Master keys from one environment variable; see the module docstring."""

    read_only = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = f"env://{name}"

    @classmethod
    def from_url(cls, url: str) -> EnvKeyring:
        name = url.partition("://")[2]
        if not name or not name.replace("_", "").isalnum():
            raise ConfigurationError(
                "an env:// master key URL names a variable: env://KEYSTEAD_MASTER_KEY"
            )
        return cls(name)

    def exists(self) -> bool:
        return bool(os.environ.get(self.name, "").strip())

    def create(self) -> None:
        raise ConfigurationError(
            f"{self.url} is read-only: put a base64 256-bit key in {self.name} "
            "(e.g. from 'openssl rand -base64 32')"
        )

    def rotate(self) -> int:
        raise ConfigurationError(
            f"{self.url} is read-only, Keystead cannot rotate it: add "
            f"'{self._next_version()}:<new base64 key>' to {self.name} and restart"
        )

    def retire(self, version: int) -> None:
        raise ConfigurationError(
            f"{self.url} is read-only, Keystead cannot retire a version of it: nothing "
            f"uses version {version} any more, so remove '{version}:...' from {self.name} "
            "and restart every node"
        )

    def _next_version(self) -> int:
        return self._keys().current_version + 1 if self.exists() else 1

    def _keys(self) -> KeyMaterial:
        return parse(os.environ.get(self.name, ""), self.name)

    def __repr__(self) -> str:
        return f"EnvKeyring({self.name!r})"


def parse(value: str, name: str) -> KeyMaterial:
    """The keys of the variable's ``value``; errors name ``name``, never the value."""
    text = value.strip()
    if not text:
        raise ConfigurationError(f"no master key: the environment variable {name} is not set")
    if ":" not in text:
        return material_of({1: decode_kek(text, name, 1)}, name)
    keks: dict[int, bytes] = {}
    for position, item in enumerate(text.split(","), start=1):
        version_text, sep, key = item.strip().partition(":")
        if not sep or not version_text.strip().isdigit():
            raise ConfigurationError(
                f"{name}: entry {position} is not VERSION:BASE64 (e.g. 1:<base64 key>)"
            )
        version = int(version_text)
        if version in keks:
            raise ConfigurationError(f"{name}: master key version {version} appears twice")
        keks[version] = decode_kek(key, name, version)
    return material_of(keks, name)


__all__ = ["EnvKeyring", "parse"]
