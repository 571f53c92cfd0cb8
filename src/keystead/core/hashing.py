"""Keyed hash of a key: HMAC-SHA256 under the server secret.

Keys carry 160+ bits from a CSPRNG, so a slow password hash adds latency and no
security; the server secret keeps a stolen database from being used to test
guesses offline. See docs/security.md.
"""

from __future__ import annotations

import hmac

MIN_SECRET_BYTES = 32


class KeyHasher:
    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the server secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def hash(self, key: str) -> bytes:
        return hmac.digest(self._secret, key.encode("utf-8"), "sha256")

    def __repr__(self) -> str:
        return "KeyHasher(<secret hidden>)"


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


__all__ = ["KeyHasher", "constant_time_equal"]
