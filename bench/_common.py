"""Shared helpers for the benchmark scripts: machine facts, tables, peer venvs.

Not a benchmark itself. Every script in ``bench/`` imports it from its own
directory (``python bench/<script>.py`` puts ``bench/`` on ``sys.path``).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / ".peers"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_rows() -> list[tuple[str, str]]:
    return [
        ("machine", f"{cpu_model()}, {os.cpu_count()} cores ({platform.machine()})"),
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
    ]


def print_table(title: str, rows: Sequence[tuple[str, ...]], *, right: bool = True) -> None:
    """A plain text table; the first row is the header. Columns after the
    first are right-aligned (numbers) unless ``right`` is false."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\n{title}")
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i and right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  " + "  ".join(cells).rstrip())
        if index == 0:
            print("  " + "  ".join("-" * w for w in widths))


def print_machine() -> None:
    for name, value in machine_rows():
        print(f"{name:8} {value}")


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}/s"


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.2f} us" if abs(us) < 10 else f"{us:,.1f} us"


def fmt_ratio(value: float) -> str:
    return f"{value:,.1f}x" if value >= 10 else f"{value:,.2f}x"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def pin_to_core(core: int) -> bool:
    """Pin this process to one core; False when the platform cannot."""
    try:
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        return False
    return True


def move_to_core(pid: int, core: int) -> None:
    """Move a running process, every one of its threads, to one core.

    ``sched_setaffinity(pid)`` moves one thread only: a child started by a
    pinned server keeps the threads it has already started (a database
    driver's, an executor's) on the server's core."""
    tasks = Path(f"/proc/{pid}/task")
    for thread in [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [pid]:
        try:
            os.sched_setaffinity(thread, {core})
        except ProcessLookupError:  # the thread has just ended
            continue


def peer_python(name: str, requirements: Sequence[str]) -> Path:
    """The interpreter of ``bench/.peers/<name>``, created and filled on first use.

    The peer's packages come from PyPI through pip, into a virtualenv of their
    own; nothing of theirs is committed (``bench/.peers/`` is gitignored).
    """
    venv = PEERS_DIR / name
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = "\n".join(requirements)
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return python
    print(f"setting up peer venv {venv.relative_to(ROOT)}: {' '.join(requirements)}", flush=True)
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        check=True,
    )
    stamp.write_text(wanted)
    return python


def require_tool(name: str, install_hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(f"{name} is not installed; install it with: {install_hint}")
    return path


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate()`` until true; TimeoutError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout_s:.0f} s")


def fresh_pg_schema(pg_url: str) -> tuple[str, str]:
    """A new, empty PostgreSQL schema and a URL whose search_path points at it."""
    import secrets
    from urllib.parse import quote

    import psycopg

    schema = f"ks_bench_{secrets.token_hex(6)}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_url else "?"
    return schema, f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"


def drop_pg_schema(pg_url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
