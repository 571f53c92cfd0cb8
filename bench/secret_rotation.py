"""What a server-secret rotation window costs the verify path, against the same
paths with one version, measured in the same run.

Run: flock /tmp/keystead-bench.lock .venv/bin/python bench/secret_rotation.py
     [--database-url postgresql://...] [--keys 2000] [--rounds 5]

Three stores, each opened as a service with default settings (in-process: this
process is the only Keystead process, and its CPU time is counted): one that
never rotated, one in a rotation window with one older version in use, one with
two. Rounds alternate between them, each store going first in turn, so the ratios
share the machine's noise.

- hit: a cached key under the newest version (the common case): nothing added.
- miss: a well-formed key nobody issued, a new one each time (what guessing
  sends): one store lookup per version in use.
- first use of an old key: not cached, found under the older version and moved
  to the newest (once per key), against the first use of a key hashed under
  the newest version.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from _common import fmt_ratio, fmt_us, median, print_machine, print_table

from keystead.config import Settings
from keystead.core import keyformat
from keystead.service import Keystead


async def _open(url: str, home: Path) -> Keystead:
    settings = Settings(
        _env_file=None,
        database_url=url,
        secret_file=home / "keystead.secret",
        usage_enabled=False,
        scheduler_interval_s=0,
    )
    return await Keystead.open(settings=settings, create_master_key=True)


async def _keys(ks: Keystead, count: int) -> list[str]:
    admin = await ks.workspaces.local_operator()
    apis = await ks.apis.list(admin)
    api = apis[0] if apis else await ks.apis.create(admin, name="bench", prefix="bench")
    made: list[str] = []
    while len(made) < count:
        batch = await ks.keys.create_many(admin, [{"api_id": api.id}] * min(500, count - len(made)))
        made.extend(c.plaintext for c in batch)
    return made


async def _timed(
    run: Callable[[str], Awaitable[object]], keys: Sequence[str]
) -> tuple[float, float]:
    """Wall and CPU seconds per call of ``run`` over ``keys``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for key in keys:
        await run(key)
    n = len(keys)
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


class Store:
    def __init__(self, name: str, ks: Keystead, older: int) -> None:
        self.name, self.ks, self.older = name, ks, older
        self.old_keys: list[str] = []
        self.new_keys: list[str] = []
        self.figures: dict[str, list[tuple[float, float]]] = {}

    def add(self, path: str, figure: tuple[float, float]) -> None:
        self.figures.setdefault(path, []).append(figure)


async def _prepare(store: Store, count: int) -> None:
    ks = store.ks
    admin = await ks.workspaces.local_operator()
    store.old_keys = await _keys(ks, count)
    for _ in range(store.older):
        await ks.server_secret.rotate(admin, settle_s=0)
    store.new_keys = await _keys(ks, count)


async def _round(store: Store, count: int, round_no: int) -> None:
    ks = store.ks
    verify = ks.verify
    hot = store.new_keys[-200:]
    for key in hot:  # cached
        await verify(key)
    store.add("hit (cached, newest version)", await _timed(verify, hot * (count // 20)))
    unknown = [keyformat.generate("bench") for _ in range(count)]
    store.add("miss (a key nobody issued)", await _timed(verify, unknown))
    # a slice of keys never verified before: the first use of each
    width = (len(store.new_keys) - 200) // 8
    fresh = store.new_keys[width * round_no : width * (round_no + 1)]
    store.add("first use of a newest-version key", await _timed(verify, fresh))
    if store.older:
        old = store.old_keys[width * round_no : width * (round_no + 1)]
        store.add("first use of an old key (moved)", await _timed(verify, old))


async def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default SQLite)")
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rounds = min(args.rounds, 8)
    schemas: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        stores = []
        for name, older in (("one version", 0), ("window, 1 older", 1), ("window, 2 older", 2)):
            home = Path(tmp) / name.replace(" ", "_").replace(",", "")
            home.mkdir()
            url = args.database_url or f"sqlite:///{home / 'keystead.db'}"
            if args.database_url:
                url = _schema(args.database_url, home.name, schemas)
            store = Store(name, await _open(url, home), older)
            await _prepare(store, args.keys)
            stores.append(store)
        try:
            for round_no in range(rounds):
                turn = round_no % len(stores)  # each store goes first in turn
                for store in stores[turn:] + stores[:turn]:
                    await _round(store, args.keys, round_no)
        finally:
            for store in stores:
                await store.ks.close()
            if args.database_url:
                _drop(args.database_url, schemas)
    print_machine()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"store    {backend}; {args.keys} calls per path per round, median of {rounds} rounds")
    base = stores[0]
    rows = [("path", "store", "wall/call", "CPU/call", "CPU vs one version")]
    for path in base.figures | stores[-1].figures:
        for store in stores:
            if path not in store.figures:
                continue
            wall = median([w for w, _ in store.figures[path]])
            cpu = median([c for _, c in store.figures[path]])
            ref = base.figures.get(path) or base.figures["first use of a newest-version key"]
            ratio = cpu / median([c for _, c in ref])
            rows.append((path, store.name, fmt_us(wall), fmt_us(cpu), fmt_ratio(ratio)))
    print_table("Verify paths during a server-secret rotation window", rows, right=True)


def _schema(url: str, name: str, made: list[str]) -> str:
    """A fresh schema of the PostgreSQL database for one store (dropped at the end)."""
    import psycopg

    schema = f"ks_bench_{name}_{int(time.time())}".lower()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    made.append(schema)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def _drop(url: str, schemas: Sequence[str]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
