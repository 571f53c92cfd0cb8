"""``pkcs11:``: the master keys on an HSM token, used there and never read out.

The URL is an RFC 7512 PKCS#11 URI (``pkcs11://`` is accepted as the same)::

    pkcs11:token=keystead;object=keystead-master?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:KEYSTEAD_HSM_PIN

- path attributes (``;``-separated): ``token`` (the token label) and/or ``serial``
  pick the token; ``object`` is the label stem of the keys (default
  ``keystead-master``);
- query attributes (``&``-separated): ``module-path``, the PKCS#11 library
  (required); ``pin-source``, where the user PIN is read when the token is
  opened: ``env:NAME`` or ``file:/path`` (a 0600 file). ``pin-value`` is refused,
  so a PIN is never part of a URL, a log line or a repr.

Version N is the AES-256 secret key object labelled ``<object>-vN`` on the token,
generated there with ``CKA_SENSITIVE`` and not ``CKA_EXTRACTABLE``: its value never
leaves the token. Wrapping is ``C_WrapKey`` with ``CKM_AES_KEY_WRAP`` (RFC 3394,
the same 40-byte format as ``file://``) of the data key imported as a session
object; unwrapping is ``C_UnwrapKey`` into a session object whose value is read
and which is then destroyed. Driver: python-pkcs11 (``pip install 'keystead[hsm]'``),
touched only in :mod:`keystead.keyring._pkcs11_token`.
"""

from __future__ import annotations

import importlib
import os
import re
import stat
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from keystead.errors import ConfigurationError, IntegrityError, MissingDependency
from keystead.keyring._material import MAX_VERSION

if TYPE_CHECKING:
    from keystead.keyring._pkcs11_token import KeyRef, Token

DEFAULT_OBJECT = "keystead-master"
RELIST_SECONDS = 1.0
"""How long a listing of the token's key objects is used before the token is asked again."""
_PATH_ATTRS = {"token", "serial", "object"}
_QUERY_ATTRS = {"module-path", "pin-source"}
_EXAMPLE = (
    "pkcs11:token=keystead;object=keystead-master"
    "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:KEYSTEAD_HSM_PIN"
)


class Pkcs11Keyring:
    """Master keys as non-extractable AES keys on a PKCS#11 token; see the module docstring."""

    read_only = False

    def __init__(
        self, module_path: str, token: str, serial: str, object_label: str, pin_source: str
    ) -> None:
        self.module_path = module_path
        self.token_label = token
        self.serial = serial
        self.object_label = object_label
        self.pin_source = pin_source
        self.url = _format_url(module_path, token, serial, object_label, pin_source)
        self._pattern = re.compile(re.escape(object_label) + r"-v([1-9][0-9]{0,9})")
        self._rotate_lock = threading.Lock()
        self._list_lock = threading.Lock()
        self._listed: dict[int, list[KeyRef]] = {}
        self._listed_at: float | None = None
        self._token: Token | None = None

    @classmethod
    def from_url(cls, url: str) -> Pkcs11Keyring:
        path_attrs, query_attrs = parse_url(url)
        module_path = query_attrs.get("module-path", "")
        pin_source = query_attrs.get("pin-source", "")
        if not module_path or not pin_source:
            raise ConfigurationError(
                f"a pkcs11: master key URL needs module-path and pin-source, e.g. {_EXAMPLE}"
            )
        _check_pin_source(pin_source)
        token, serial = path_attrs.get("token", ""), path_attrs.get("serial", "")
        if not token and not serial:
            raise ConfigurationError(
                f"a pkcs11: master key URL names its token (token= or serial=), e.g. {_EXAMPLE}"
            )
        label = path_attrs.get("object", DEFAULT_OBJECT)
        return cls(module_path, token, serial, label, pin_source)

    def exists(self) -> bool:
        return bool(self._keys(fresh=True))

    def create(self) -> None:
        """Generate version 1 on the token unless a version exists."""
        with self._rotate_lock:
            if not self._keys(fresh=True):
                self._device().generate(self._label(1))
                self._listed_at = None

    @property
    def current_version(self) -> int:
        return self._current()[0]

    def versions(self) -> list[int]:
        return sorted(self._keys(fresh=True))

    def wrap(self, data_key: bytes) -> tuple[int, bytes]:
        version, ref = self._current()
        return version, self._device().wrap(ref, data_key)

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        from keystead.keyring._pkcs11_token import WrongKey

        refs = self._keys().get(version) or self._keys(fresh=True).get(version)
        if not refs:
            raise IntegrityError(f"master key version {version} is not in the keyring")
        for ref in refs:  # more than one only after two concurrent rotations
            try:
                return self._device().unwrap(ref, wrapped)
            except WrongKey:
                continue
        raise IntegrityError(
            f"the data key does not unwrap under master key version {version} "
            "(altered, or not the key it was wrapped with)"
        )

    def rotate(self) -> int:
        with self._rotate_lock:
            keys = self._keys(fresh=True)
            version = max(keys, default=0) + 1
            if not keys:
                raise ConfigurationError(f"no master key on {self.url} to rotate")
            if version > MAX_VERSION:
                raise ConfigurationError("the master key has no version left to rotate to")
            self._device().generate(self._label(version))
            self._listed_at = None
            return version

    def retire(self, version: int) -> None:
        """Destroy the token object(s) of ``version`` (an old one)."""
        with self._rotate_lock:
            keys = self._keys(fresh=True)
            if version not in keys:
                raise ConfigurationError(f"there is no master key version {version} on {self.url}")
            if version == max(keys):
                raise ConfigurationError(f"master key version {version} is current: rotate first")
            for ref in keys[version]:
                self._device().destroy(ref)
            self._listed_at = None

    def key_refs(self, version: int) -> list[KeyRef]:
        """The token objects of one version (for inspection: never their values)."""
        return self._keys(fresh=True).get(version, [])

    def _label(self, version: int) -> str:
        return f"{self.object_label}-v{version}"

    def _current(self) -> tuple[int, KeyRef]:
        keys = self._keys()
        if not keys:
            raise ConfigurationError(
                f"no master key on {self.url}: run 'keystead init' to generate one on the token"
            )
        version = max(keys)
        return version, keys[version][0]

    def _keys(self, *, fresh: bool = False) -> dict[int, list[KeyRef]]:
        """The key objects by version. The listing is kept for :data:`RELIST_SECONDS`
        (searching the token costs more than an unwrap), so a rotation made by
        another process is used for wraps within that time; an unknown version is
        looked up at once. Two objects of one version (two rotations racing) are
        both kept: wrap uses the first by ``CKA_ID``, unwrap tries each."""
        now = time.monotonic()
        with self._list_lock:
            if not fresh and self._listed_at is not None and now - self._listed_at < RELIST_SECONDS:
                return self._listed
        found: dict[int, list[KeyRef]] = {}
        for ref in self._device().keys(self.object_label + "-v"):
            match = self._pattern.fullmatch(ref.label)
            if match is not None and int(match.group(1)) <= MAX_VERSION:
                found.setdefault(int(match.group(1)), []).append(ref)
        listed = {v: sorted(refs, key=lambda r: r.key_id) for v, refs in found.items()}
        with self._list_lock:
            self._listed, self._listed_at = listed, now
        return listed

    def _device(self) -> Token:
        if self._token is None:
            try:
                driver = importlib.import_module("keystead.keyring._pkcs11_token")
            except ImportError:
                raise MissingDependency(
                    "a pkcs11: master key needs the python-pkcs11 driver: "
                    "pip install 'keystead[hsm]'"
                ) from None
            self._token = driver.Token(
                self.module_path, self.token_label, self.serial, self._read_pin
            )
        return self._token

    def _read_pin(self) -> str:
        return read_pin(self.pin_source)

    def __repr__(self) -> str:
        return f"Pkcs11Keyring({self.url!r})"


def parse_url(url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Path and query attributes of an RFC 7512 URI (``pkcs11:`` or ``pkcs11://``),
    percent-decoded. Errors name the attribute, never a value."""
    scheme, sep, rest = url.partition(":")
    if scheme.lower() != "pkcs11" or not sep:
        raise ConfigurationError(f"not a pkcs11: URL; expected e.g. {_EXAMPLE}")
    rest = rest.removeprefix("//")
    path, _, query = rest.partition("?")
    path_attrs = _attributes(path, ";", _PATH_ATTRS)
    query_attrs = _attributes(query, "&", _QUERY_ATTRS)
    return path_attrs, query_attrs


def _attributes(text: str, separator: str, known: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in filter(None, text.split(separator)):
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if name == "pin-value":
            raise ConfigurationError(
                "a pkcs11: URL must not hold the PIN (pin-value): "
                "use pin-source=env:NAME or pin-source=file:/path"
            )
        if not eq or name not in known:
            raise ConfigurationError(
                f"pkcs11: URL attribute '{name[:32]}' is not supported "
                f"(known: {', '.join(sorted(known))})"
            )
        if name in found:
            raise ConfigurationError(f"pkcs11: URL attribute '{name}' appears twice")
        found[name] = unquote(value)
    return found


def _check_pin_source(source: str) -> None:
    kind, _, where = source.partition(":")
    if kind == "env" and where and where.replace("_", "").isalnum():
        return
    if kind == "file" and where:
        return
    raise ConfigurationError(
        "pin-source must be env:NAME (an environment variable) or file:/path (a 0600 file)"
    )


def read_pin(source: str) -> str:
    """The PIN named by ``pin-source``; errors name the source, never the PIN."""
    kind, _, where = source.partition(":")
    if kind == "env":
        pin = os.environ.get(where, "")
        if not pin:
            raise ConfigurationError(f"no HSM PIN: the environment variable {where} is not set")
        return pin
    path = Path(where.removeprefix("//"))
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigurationError(f"no HSM PIN: {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"{path} is readable by other users; run 'chmod 600 {path}'")
    pin = path.read_text(encoding="utf-8").strip()
    if not pin:
        raise ConfigurationError(f"no HSM PIN: {path} is empty")
    return pin


def _format_url(module_path: str, token: str, serial: str, label: str, pin_source: str) -> str:
    safe = "/:_.-"
    path = [
        f"{name}={quote(value, safe=safe)}"
        for name, value in (("token", token), ("serial", serial), ("object", label))
        if value
    ]
    return (
        f"pkcs11:{';'.join(path)}?module-path={quote(module_path, safe=safe)}"
        f"&pin-source={quote(pin_source, safe=safe)}"
    )


__all__ = ["DEFAULT_OBJECT", "Pkcs11Keyring", "parse_url", "read_pin"]
