"""GitHub's secret scanning public keys: read from a configured URL or file
(``{"public_keys": [{"key_identifier", "key", "is_current"}]}``), kept, and read
again when a request names an identifier not among them (a new key GitHub
started to sign with) or when they are older than ``max_age_s``.

A request naming an unknown identifier is what an attacker sends for free, so a
read it causes happens at most once per ``refresh_s``: between them, an unknown
identifier is refused (401) without a fetch. Keys that no longer parse are
skipped; a failed read keeps the keys already held.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from urllib.parse import urlparse

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from keystead.core.clock import Clock
from keystead.core.leak_signature import load_public_key
from keystead.errors import ConfigurationError

GITHUB_KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning"
MAX_KEYS_BYTES = 1_048_576
_log = logging.getLogger("keystead.leaks")


def parse_keys(raw: bytes | str) -> dict[str, ec.EllipticCurvePublicKey]:
    """The usable keys of a public keys document, by identifier."""
    document = json.loads(raw)
    listed = document.get("public_keys") if isinstance(document, dict) else None
    if not isinstance(listed, list):
        raise ValueError("expected {'public_keys': [...]}")
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in listed:
        if not isinstance(entry, dict):
            continue
        identifier, pem = entry.get("key_identifier"), entry.get("key")
        if not isinstance(identifier, str) or not isinstance(pem, str) or not identifier:
            continue
        try:
            keys[identifier] = load_public_key(pem)
        except ValueError:
            _log.warning("GitHub public key %s is not a P-256 PEM key: skipped", identifier[:80])
    return keys


class GitHubKeys:
    """The public keys GitHub signs leak reports with, by ``key_identifier``."""

    def __init__(
        self,
        source: str,
        clock: Clock,
        *,
        refresh_s: float = 60.0,
        max_age_s: float = 3600.0,
        timeout_s: float = 10.0,
    ) -> None:
        if not source:
            raise ConfigurationError("no source of GitHub's public keys is configured")
        self.source = source
        self._clock = clock
        self._refresh_s = refresh_s
        self._max_age_s = max_age_s
        self._timeout_s = timeout_s
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self.reads = 0
        """Reads of the source so far (tests and /metrics)."""

    async def key(self, identifier: str) -> ec.EllipticCurvePublicKey | None:
        """The key of ``identifier``: held, or read now if allowed; else None."""
        now = self._clock.now()
        found = self._keys.get(identifier)
        fresh = self._read_at is not None and now - self._read_at < self._max_age_s
        if found is not None and fresh:
            return found
        async with self._lock:
            now = self._clock.now()
            if self._read_at is None or now - self._read_at >= self._refresh_s:
                await self._read(now)
            return self._keys.get(identifier)

    async def _read(self, now: float) -> None:
        self._read_at = now  # failed reads count too: they are what an attacker causes
        self.reads += 1
        try:
            self._keys = parse_keys(await self._fetch())
        except (OSError, ValueError, httpx.HTTPError) as exc:
            _log.warning("could not read GitHub's public keys from %s: %s", self.source, exc)

    async def _fetch(self) -> bytes:
        scheme = urlparse(self.source).scheme
        if scheme in ("http", "https"):
            async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                response = await client.get(self.source, headers={"Accept": "application/json"})
                response.raise_for_status()
                if len(response.content) > MAX_KEYS_BYTES:
                    raise ValueError("the public keys document is too large")
                return response.content
        path = Path(self.source[len("file://") :] if scheme == "file" else self.source)
        data = await asyncio.to_thread(path.read_bytes)
        if len(data) > MAX_KEYS_BYTES:
            raise ValueError("the public keys document is too large")
        return data


__all__ = ["GITHUB_KEYS_URL", "GitHubKeys", "parse_keys"]
