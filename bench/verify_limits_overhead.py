"""What limits cost the verify hot path, in memory mode.

The same cached key (IP restriction + permission query) verified in-process
with no limits and with one GCRA rate limit (memory://), in alternating rounds
of one run on one core. Target: limits cut throughput by at most 25%.

Run: .venv/bin/python bench/verify_limits_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

from _common import fmt_rate, median, pin_to_core, print_machine, print_table

from keystead.config import Settings
from keystead.core.models import VerifyContext
from keystead.service import Keystead

CONTEXT = VerifyContext(ip="10.1.2.3", permissions="documents.read AND NOT admin.*")
RESTRICTIONS = {"ips": {"allow": ["10.0.0.0/8", "192.168.0.0/16"]}}


async def rate(ks: Keystead, key: str, n: int) -> float:
    verify = ks.verify
    start = time.perf_counter()
    for _ in range(n):
        await verify(key, CONTEXT)
    return n / (time.perf_counter() - start)


async def main(quick: bool) -> None:
    pinned = pin_to_core(0)
    directory = Path(tempfile.mkdtemp(prefix="ks-bench-"))
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{directory / 'bench.db'}",
        secret=secrets.token_hex(32),  # type: ignore[arg-type]
        secret_file=directory / "secret",
        limits_url="memory://",
    )
    ks = await Keystead.open(settings=settings)
    try:
        admin = await ks.workspaces.local_operator()
        api = await ks.apis.create(admin, name="bench")
        common = {"api_id": api.id, "permissions": ["documents.read"]}
        bare = await ks.keys.create(admin, restrictions=RESTRICTIONS, **common)
        limited = await ks.keys.create(
            admin,
            restrictions=RESTRICTIONS,
            # far above what a run spends: every verification is admitted
            ratelimits=[{"name": "rps", "limit": 10**9, "duration_s": 1}],
            **common,
        )
        for created in (bare, limited):
            assert (await ks.verify(created.plaintext, CONTEXT)).valid
        n, rounds = (50_000, 3) if quick else (200_000, 7)
        without: list[float] = []
        with_limit: list[float] = []
        for _ in range(rounds):
            without.append(await rate(ks, bare.plaintext, n))
            with_limit.append(await rate(ks, limited.plaintext, n))
    finally:
        await ks.close()
    print_machine()
    print(f"  pinned to core 0: {pinned}; {rounds} alternating rounds of {n} verifications")
    best_ratio = max(with_limit) / max(without)
    median_ratio = median(with_limit) / median(without)
    print_table(
        "in-process verify, memory://",
        [
            ("variant", "best /s", "median /s"),
            ("no limits", fmt_rate(max(without)), fmt_rate(median(without))),
            ("one GCRA rate limit", fmt_rate(max(with_limit)), fmt_rate(median(with_limit))),
            ("kept (target >= 75%)", f"{best_ratio:.0%}", f"{median_ratio:.0%}"),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    asyncio.run(main(parser.parse_args().quick))
