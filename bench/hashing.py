"""Cost of the keyed hash Keystead uses against slow password hashers.

Run: .venv/bin/python bench/hashing.py
Keys carry 190 bits from a CSPRNG, so no hasher can make guessing them harder;
a slow one only adds this much latency to every cache miss.
"""

from __future__ import annotations

import hashlib
import platform
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from keystead.core import keyformat
from keystead.core.hashing import KeyHasher


def per_call(fn: Callable[[], object], seconds: float = 1.0) -> float:
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - start) / calls


def main() -> None:
    key = keyformat.generate("ks")
    raw = key.encode()
    salt = secrets.token_bytes(16)
    hasher = KeyHasher(secrets.token_bytes(32))
    rows = [
        ("HMAC-SHA256 (Keystead)", per_call(lambda: hasher.hash(key))),
        (
            "PBKDF2-SHA256, 600k iterations",
            per_call(lambda: hashlib.pbkdf2_hmac("sha256", raw, salt, 600_000), 3.0),
        ),
        (
            "scrypt n=2^14 r=8 p=1",
            per_call(lambda: hashlib.scrypt(raw, salt=salt, n=2**14, r=8, p=1), 3.0),
        ),
    ]
    base = rows[0][1]
    print(
        f"# {platform.processor() or platform.machine()}, Python {platform.python_version()},"
        f" {datetime.now(UTC):%Y-%m-%d}"
    )
    print(f"{'hasher':34} {'per hash':>12} {'x HMAC':>10}")
    for name, cost in rows:
        print(f"{name:34} {cost * 1e6:10.1f}us {cost / base:10.0f}")


if __name__ == "__main__":
    main()
