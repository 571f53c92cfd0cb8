"""What an imported key costs the verify path: the first use of each legacy
scheme (checked, then moved to the keyed hash) and an imported key's use after
it, against a native key's, measured in the same run.

Run: flock /tmp/keystead-bench.lock .venv/bin/python bench/key_import.py
     [--database-url postgresql://...] [--keys 500] [--slow-keys 8] [--rounds 3]

One store, opened as a service with default settings (in-process: this process is
the only Keystead process; its CPU time, slow hashes' threads included, is
counted). Slow hashes are made with each library's default cost, as their users'
systems store them: bcrypt.gensalt() (12 rounds), argon2-cffi's PasswordHasher(),
Django's default PBKDF2 iterations, djangorestframework-api-key 3's sha512.

- first use: a key never verified (not cached). Native: one keyed-hash lookup.
  Imported: the keyed hash misses, the legacy hash is found by its lookup,
  checked, and the key moved, once per key.
- after the move, uncached: an imported key found by its keyed hash alone.
- hit: a cached key.
- an unknown key of another format once keys were imported: one indexed lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from _common import (
    drop_pg_schema,
    fmt_ratio,
    fmt_us,
    fresh_pg_schema,
    median,
    print_machine,
    print_table,
)

from keystead.config import Settings
from keystead.service import Keystead

FAST = ("sha256", "drf-api-key sha512")
SLOW = ("bcrypt", "argon2", "pbkdf2_sha256", "drf-api-key argon2")


def _pbkdf2_iterations() -> int:
    try:
        from django.contrib.auth.hashers import PBKDF2PasswordHasher
    except ImportError:  # Django 5.2's default
        return 1_000_000
    return int(PBKDF2PasswordHasher.iterations)


def _row(scheme: str, key: str, api_id: str) -> dict[str, Any]:
    """An export row of ``key`` as the old system stored it."""
    import bcrypt
    from argon2 import PasswordHasher

    if scheme == "sha256":
        digest = hashlib.sha256(key.encode()).digest()
        hashed = {"scheme": "sha256", "value": base64.b64encode(digest).decode()}
    elif scheme.startswith("drf-api-key"):
        prefix = key.partition(".")[0]
        if scheme.endswith("sha512"):
            value = "sha512$$" + hashlib.sha512(key.encode()).hexdigest()
        else:
            value = "argon2" + PasswordHasher().hash(key)
        hashed = {"scheme": "drf-api-key", "value": value, "prefix": prefix}
    elif scheme == "bcrypt":
        hashed = {
            "scheme": "bcrypt",
            "value": bcrypt.hashpw(key.encode(), bcrypt.gensalt()).decode(),
        }
    elif scheme == "argon2":
        hashed = {"scheme": "argon2", "value": PasswordHasher().hash(key)}
    else:
        n = _pbkdf2_iterations()
        salt = secrets.token_urlsafe(16)
        derived = hashlib.pbkdf2_hmac("sha256", key.encode(), salt.encode(), n)
        value = f"pbkdf2_sha256${n}${salt}${base64.b64encode(derived).decode()}"
        hashed = {"scheme": "pbkdf2_sha256", "value": value}
    row: dict[str, Any] = {"key_hash": hashed, "api_id": api_id}
    if scheme in ("bcrypt", "argon2", "pbkdf2_sha256"):
        row["lookup"] = key[:16]
    return row


def _legacy_key(scheme: str) -> str:
    if scheme.startswith("drf-api-key"):
        return f"{secrets.token_hex(4)}.{secrets.token_hex(16)}"
    return f"old_live_{secrets.token_urlsafe(24).replace('_', 'x').replace('-', 'y')}"


async def _timed(run: Callable[[str], Awaitable[Any]], keys: Sequence[str]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for key in keys:
        verdict = await run(key)
        assert verdict.code.value in ("VALID", "NOT_FOUND")
    n = len(keys)
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


async def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default SQLite)")
    parser.add_argument("--keys", type=int, default=500, help="keys per fast path per round")
    parser.add_argument("--slow-keys", type=int, default=8, help="keys per slow scheme per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    figures: dict[str, list[tuple[float, float]]] = {}
    schema = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'keystead.db'}"
        if args.database_url:
            schema, url = fresh_pg_schema(args.database_url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            secret_file=Path(tmp) / "keystead.secret",
            usage_enabled=False,
            scheduler_interval_s=0,
        )
        ks = await Keystead.open(settings=settings)
        try:
            admin = await ks.workspaces.local_operator()
            api = await ks.apis.create(admin, name="bench", prefix="bench")
            for _ in range(args.rounds):
                native = [
                    c.plaintext
                    for c in await ks.keys.create_many(admin, [{"api_id": api.id}] * args.keys)
                ]
                made: dict[str, list[str]] = {}
                rows: list[dict[str, Any]] = []
                for scheme in FAST + SLOW:
                    count = args.keys if scheme in FAST else args.slow_keys
                    made[scheme] = [_legacy_key(scheme) for _ in range(count)]
                    rows.extend(_row(scheme, k, api.id) for k in made[scheme])
                for start in range(0, len(rows), 1000):
                    await ks.key_import.run(admin, rows[start : start + 1000])

                def add(path: str, figure: tuple[float, float]) -> None:
                    figures.setdefault(path, []).append(figure)

                add("first use: native key", await _timed(ks.verify, native))
                for scheme in FAST + SLOW:
                    add(f"first use: {scheme}", await _timed(ks.verify, made[scheme]))
                ks._ctx.flush_caches()
                add("uncached: native key", await _timed(ks.verify, native))
                add("uncached: imported key, moved", await _timed(ks.verify, made["sha256"]))
                add("hit: native key", await _timed(ks.verify, native * 10))
                add("hit: imported key, moved", await _timed(ks.verify, made["sha256"] * 10))
                unknown = [_legacy_key("sha256") for _ in range(args.keys)]
                add("unknown key of another format", await _timed(ks.verify, unknown))
        finally:
            await ks.close()
            if schema is not None:
                drop_pg_schema(args.database_url, schema)
    print_machine()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"store    {backend}; median of {args.rounds} rounds")
    base = median([c for _, c in figures["first use: native key"]])
    table = [("path", "wall/call", "CPU/call", "CPU vs native first use")]
    for path, values in figures.items():
        wall, cpu = median([w for w, _ in values]), median([c for _, c in values])
        table.append((path, fmt_us(wall), fmt_us(cpu), fmt_ratio(cpu / base)))
    print_table("Verifying imported keys", table, right=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
