"""Master-key rewrap on PostgreSQL: data keys re-wrapped per second.

    .venv/bin/python bench/rewrap.py              # 100,000 secret versions, about 1 min
    .venv/bin/python bench/rewrap.py --quick      # 10,000, a smoke run
    KEYSTEAD_BENCH_POSTGRES_URL=postgresql://... .venv/bin/python bench/rewrap.py

In a fresh PostgreSQL schema (dropped at the end) and a temporary ``file://``
master key: ``--rows`` secret versions (``--versions`` per secret) are sealed
under master-key version 1 and inserted with COPY, the key is rotated, and
``ks.master_keys.rewrap()`` (what ``keystead master-key rewrap`` runs, batches
of ``--batch`` rows, one transaction each) is timed until every version is
under version 2. A sample of values is read back afterwards.

The baseline, measured in the same run on the same keyring: the raw rate of
``unwrap`` + ``wrap`` of one data key (the keyring work a rewrap cannot avoid),
so the ratio says how much the database round trips and bookkeeping add.
PostgreSQL runs on the same machine as the script (loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psycopg
from _common import fmt_rate, fmt_ratio, machine_rows, print_machine, print_table

from keystead.config import Settings
from keystead.core.envelope import seal, secret_aad
from keystead.keyring import Keyring
from keystead.service import Keystead

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def raw_rate(keyring: Keyring, count: int) -> float:
    """unwrap + wrap of one data key per second, straight on the keyring."""
    version, wrapped = keyring.wrap(os.urandom(32))
    start = time.perf_counter()
    for _ in range(count):
        keyring.wrap(keyring.unwrap(version, wrapped))
    return count / (time.perf_counter() - start)


def load(url: str, keyring: Keyring, workspace_id: str, rows: int, per_secret: int) -> float:
    """COPY ``rows`` sealed secret versions in; return the seconds it took."""
    now = datetime.now(UTC)
    start = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        secret_rows = []
        version_rows = []
        for n in range(rows // per_secret):
            secret_id = f"sec_{n:020d}"
            path = f"bench/{n}"
            meta = (per_secret, 1, 0, False, 0, "{}", now, now)
            secret_rows.append((secret_id, workspace_id, "secret", path, *meta))
            for version in range(1, per_secret + 1):
                value = json.dumps({"value": f"{n}-{version}"}).encode()
                sealed = seal(value, secret_aad(workspace_id, "secret", path, version), keyring)
                version_rows.append(
                    (secret_id, version, sealed.to_bytes(), sealed.key_version, now, None, False)
                )
        with cur.copy(
            "COPY ks_secrets (id, workspace_id, mount, path, current_version, oldest_version, "
            "max_versions, cas_required, delete_version_after, custom_metadata, created_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            for row in secret_rows:
                copy.write_row(row)
        with cur.copy(
            "COPY ks_secret_versions (secret_id, version, sealed, key_version, created_at, "
            "deletion_time, destroyed) FROM STDIN"
        ) as copy:
            for row in version_rows:
                copy.write_row(row)
        conn.commit()
        cur.execute("ANALYZE ks_secrets")
        cur.execute("ANALYZE ks_secret_versions")
    return time.perf_counter() - start


async def run(url: str, root: Path, rows: int, per_secret: int, batch: int) -> dict[str, float]:
    settings = Settings(
        _env_file=None,
        database_url=url,
        secret=secrets.token_hex(32),
        secret_file=root / "keystead.secret",
    )
    ks = await Keystead.open(settings=settings, create_master_key=True)
    try:
        admin = await ks.workspaces.local_operator()
        keyring = ks.keyring
        loaded_s = load(url, keyring, admin.workspace_id, rows, per_secret)
        baseline = raw_rate(keyring, min(rows, 50_000))
        await ks.master_keys.rotate()
        start = time.perf_counter()
        done = await ks.master_keys.rewrap(batch=batch)
        elapsed = time.perf_counter() - start
        moved = done.rewrapped["secret_version"]
        if moved != rows or await ks.master_keys.references() != {2: rows}:
            raise SystemExit(f"rewrap moved {moved} of {rows}: {done}")
        for n in range(0, rows // per_secret, max(1, rows // per_secret // 50)):
            read = await ks.secrets.get(admin, "secret", f"bench/{n}", per_secret)
            assert read.data == {"value": f"{n}-{per_secret}"}
        return {
            "rows": rows,
            "load_s": loaded_s,
            "rewrap_s": elapsed,
            "rewrap_per_s": moved / elapsed,
            "raw_per_s": baseline,
        }
    finally:
        await ks.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows, for a smoke test")
    parser.add_argument("--rows", type=int, default=100_000, help="secret versions")
    parser.add_argument("--versions", type=int, default=10, help="versions per secret")
    parser.add_argument("--batch", type=int, default=500, help="rows per transaction")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    rows = 10_000 if args.quick else args.rows
    base = os.environ.get("KEYSTEAD_BENCH_POSTGRES_URL", DEFAULT_URL)

    schema = f"ks_bench_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        with tempfile.TemporaryDirectory(prefix="keystead-rewrap-bench-") as tmp:
            figures = asyncio.run(run(url, Path(tmp), rows, args.versions, args.batch))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    print_machine()
    ratio = figures["rewrap_per_s"] / figures["raw_per_s"]
    print_table(
        f"Rewrap of {rows:,} secret versions on PostgreSQL, batches of {args.batch}",
        [
            ("figure", "rate", "vs raw keyring"),
            ("rewrap, data keys", fmt_rate(figures["rewrap_per_s"]), fmt_ratio(ratio)),
            ("file:// unwrap + wrap (baseline)", fmt_rate(figures["raw_per_s"]), "1.00x"),
        ],
    )
    print(f"\n  rewrap took {figures['rewrap_s']:.1f} s; loading took {figures['load_s']:.1f} s")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": dict(machine_rows()), **figures, "ratio": ratio}, indent=2)
        )


if __name__ == "__main__":
    main()
