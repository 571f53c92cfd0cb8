"""Secrets in Python code: ``keystead.secrets.get("secret/payments#stripe_key")``.

>>> from keystead import secrets
>>> stripe_key = secrets.get("secret/payments#stripe_key")  # doctest: +SKIP

A reference is ``[keystead://]mount/path#field``. The secret is read through the
SDK, and the whole secret (every field) is kept in this process for ``ttl`` seconds
(``DEFAULT_TTL_S``; 0: not kept), so reading its other fields, or the same field
again, asks nobody. Nothing is written to disk.

Where it reads from, unless ``configure(client=...)`` names a client:

- ``KEYSTEAD_URL`` set: that server, with the credential of ``KEYSTEAD_ROOT_KEY``
  or of the file named by ``KEYSTEAD_ROOT_KEY_FILE`` (a service token such as
  ``keystead root-keys create --permission 'secrets.read:secret/payments/*'``);
- otherwise the local store (``KEYSTEAD_DATABASE_URL``), as its local operator,
  in this process, as the CLI does; ``KEYSTEAD_WORKSPACE`` picks the workspace.

Errors: a reference that does not parse, or names no field, is a
``keystead.errors.ValidationError``; a field the secret does not have is a
``keystead.errors.NotFound``; what the server refuses (no such secret, 404; no
permission, 403) is a ``keystead.client.ApiError`` with its ``status``; no answer
is a ``keystead.client.ConnectionFailed``.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from keystead.core.secret_paths import parse_reference
from keystead.errors import ConfigurationError, NotFound, ValidationError

if TYPE_CHECKING:
    from keystead.client import Client

DEFAULT_TTL_S = 10.0
REMOTE_TIMEOUT_S = 10.0


@dataclass(slots=True)
class _Kept:
    fetched: float
    data: Mapping[str, str] = field(repr=False)


class SecretReader:
    """References resolved through one client, whole secrets kept ``ttl`` seconds.
    (The module's ``get`` uses one of these; build your own for a second client.)"""

    def __init__(
        self,
        client: Client | Callable[[], Client],
        *,
        ttl: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0:
            raise ValueError("ttl is a number of seconds, 0 or more")
        self._factory = client if callable(client) else None
        self._opened: Client | None = None if callable(client) else client
        self._ttl = ttl
        self._clock = clock
        self._kept: dict[tuple[str, str], _Kept] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Client:
        with self._lock:
            if self._opened is None:
                assert self._factory is not None  # noqa: S101 - one of the two is set
                self._opened = self._factory()
            return self._opened

    def get(self, reference: str, *, ttl: float | None = None) -> str:
        ref = parse_reference(reference)
        if ref.field is None:
            raise ValidationError(
                f"the reference {reference!r} names no field (mount/path#field)",
                field="reference",
            )
        data = self.secret(ref.mount, ref.path, ttl=ttl)
        if ref.field not in data:
            raise NotFound(f"the secret {ref.mount}/{ref.path} has no field {ref.field!r}")
        return data[ref.field]

    def secret(self, mount: str, path: str, *, ttl: float | None = None) -> Mapping[str, str]:
        """Every field of the secret ``mount/path``."""
        keep_for = self._ttl if ttl is None else ttl
        now = self._clock()
        with self._lock:
            kept = self._kept.get((mount, path))
        if kept is not None and now - kept.fetched < keep_for:
            return kept.data
        answer = self.client.read_secret(path, mount=mount)
        data: Mapping[str, str] = dict(answer["data"])
        if keep_for > 0:
            with self._lock:
                self._kept[(mount, path)] = _Kept(now, data)
        return data

    def clear(self) -> None:
        """Forget every value kept."""
        with self._lock:
            self._kept.clear()

    def close(self) -> None:
        """Forget the values; close the client this reader opened itself."""
        self.clear()
        if self._factory is None:
            return
        with self._lock:
            opened, self._opened = self._opened, None
        if opened is not None:
            opened.close()


def default_client() -> Client:
    """The client the environment names (see the module doc)."""
    from keystead.client import Client
    from keystead.config import Settings

    settings = Settings()
    if settings.url:
        return Client(settings.url, _root_key(settings), timeout=REMOTE_TIMEOUT_S)
    from keystead.http.inprocess import local_client

    return local_client(settings, os.environ.get("KEYSTEAD_WORKSPACE") or None)


def _root_key(settings: object) -> str:
    named = os.environ.get("KEYSTEAD_ROOT_KEY_FILE")
    if named:
        try:
            text = Path(named).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read KEYSTEAD_ROOT_KEY_FILE {named}: {exc.strerror}"
            ) from None
        if text:
            return text
    secret = getattr(settings, "root_key", None)
    value = "" if secret is None else secret.get_secret_value().strip()
    if not value:
        raise ConfigurationError(
            "KEYSTEAD_URL is set: give the credential in KEYSTEAD_ROOT_KEY or "
            "KEYSTEAD_ROOT_KEY_FILE"
        )
    return value


_reader: SecretReader | None = None
_reader_lock = threading.Lock()


def _current() -> SecretReader:
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = SecretReader(default_client)
        return _reader


def configure(client: Client | None = None, *, ttl: float = DEFAULT_TTL_S) -> None:
    """Read through ``client`` from now on (None: the one the environment names,
    opened on first use), keeping secrets ``ttl`` seconds. Forgets every value kept."""
    global _reader
    with _reader_lock:
        previous = _reader
        _reader = SecretReader(client if client is not None else default_client, ttl=ttl)
    if previous is not None:
        previous.close()


def get(reference: str, *, ttl: float | None = None) -> str:
    """The value of the field a reference names, e.g. ``secret/payments#stripe_key``.
    ``ttl``: the age in seconds a kept value may have to answer this call (0: ask
    again); the secret is kept anew when it is read."""
    return _current().get(reference, ttl=ttl)


def clear_cache() -> None:
    """Forget every value kept in this process."""
    reader = _reader
    if reader is not None:
        reader.clear()


def _close() -> None:
    reader = _reader
    if reader is not None:
        reader.close()


atexit.register(_close)

__all__ = ["DEFAULT_TTL_S", "SecretReader", "clear_cache", "configure", "default_client", "get"]
