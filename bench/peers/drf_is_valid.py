"""Peer for bench/verify_inprocess.py: djangorestframework-api-key ``is_valid``.

Runs inside the peer's own virtualenv (``bench/.peers/drf``), never the
project's. Configures a minimal Django in-process with a SQLite file in a temp
directory, creates N keys with ``APIKey.objects.create_key`` (in one
transaction, so the build takes seconds rather than minutes), then times
``APIKey.objects.is_valid(key)`` on one key in a tight loop and prints one JSON
object on stdout: {"per_s": best, "median_per_s": ..., "runs": [...], ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one timed run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--core", type=int, default=0, help="pin to this core (-1: no pin)")
    args = parser.parse_args()
    if args.core >= 0:
        os.sched_setaffinity(0, {args.core})

    with tempfile.TemporaryDirectory(prefix="drf-peer-") as tmp:
        result = run(Path(tmp) / "peer.sqlite3", args.keys, args.seconds, args.runs)
    json.dump(result, sys.stdout)
    print()


def run(db_path: Path, n_keys: int, seconds: float, runs: int) -> dict[str, object]:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-a-secret",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "rest_framework_api_key",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db_path)}},
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()

    from django.core.management import call_command
    from django.db import transaction
    from rest_framework_api_key.models import APIKey

    call_command("migrate", verbosity=0, interactive=False)

    started = time.perf_counter()
    keys: list[str] = []
    with transaction.atomic():
        for i in range(n_keys):
            _, key = APIKey.objects.create_key(name=f"bench-{i}")
            keys.append(key)
    build_s = time.perf_counter() - started

    key = keys[n_keys // 2]
    if not APIKey.objects.is_valid(key):
        raise SystemExit("peer: the chosen key does not verify")
    if APIKey.objects.is_valid(key[:-1] + ("A" if key[-1] != "A" else "B")):
        raise SystemExit("peer: a wrong key verifies")

    is_valid = APIKey.objects.is_valid
    # calibrate a batch to about 0.1 s, then time whole batches for `seconds`
    batch = 100
    while True:
        t0 = time.perf_counter()
        for _ in range(batch):
            is_valid(key)
        if time.perf_counter() - t0 > 0.1:
            break
        batch *= 2
    rates: list[float] = []
    for _ in range(runs):
        done = 0
        t0 = time.perf_counter()
        deadline = t0 + seconds
        while True:
            for _ in range(batch):
                is_valid(key)
            done += batch
            now = time.perf_counter()
            if now >= deadline:
                break
        rates.append(done / (now - t0))
    return {
        "per_s": max(rates),
        "median_per_s": statistics.median(rates),
        "runs": rates,
        "keys": n_keys,
        "build_s": build_s,
        "hasher": type(APIKey.objects.key_generator.preferred_hasher).__name__,
        "versions": {
            "djangorestframework-api-key": version("djangorestframework-api-key"),
            "django": version("django"),
            "djangorestframework": version("djangorestframework"),
            "python": sys.version.split()[0],
        },
    }


if __name__ == "__main__":
    main()
