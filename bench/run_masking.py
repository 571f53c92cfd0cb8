"""``keystead run`` output masking: throughput of a child's stdout through the
masking filter, against the same child writing straight to its file.

    .venv/bin/python bench/run_masking.py            # about 30 s
    .venv/bin/python bench/run_masking.py --quick    # smoke run, about 5 s

The child writes ``--megabytes`` of 100-byte text lines in 64 KiB writes to stdout,
which is /dev/null. Measured in the same run, median of ``--runs`` wall times of the
whole process tree (child start included, the same in every row):

- ``| cat`` (the baseline): the child's stdout through a plain pipe, copied by ``cat``,
  which is what reading a child's output costs before any masking;
- ``--no-masking``: the child under ``keystead run``'s supervisor, inheriting stdout
  (what the supervisor's start costs: a Python interpreter and its imports);
- masking with 1 and with 50 secret values (32 characters each), none of which occurs,
  and with 1 value that occurs once per 64 KiB (each occurrence masked).

The supervisor is the one ``keystead run`` uses (``keystead.consume.supervise``), fed
by a resolver in memory, so no store or server takes part.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import subprocess
import sys
import time

from _common import fmt_ratio, median, print_machine, print_table

CHILD = """
import os, sys
total = int(sys.argv[1]) * 1024 * 1024
line = (b"2026-12-05T19:00:00Z INFO request served path=/v1/things status=200 in 1.2ms "
        b"user=alice\\n")
block = (line * (65536 // len(line) + 1))[:65536]
if len(sys.argv) > 2:
    value = sys.argv[2].encode()
    block = block[: 32768] + value + block[32768 + len(value):]
sent = 0
while sent < total:
    sent += os.write(1, block)
"""

RUNNER = """
import json, sys
from keystead.consume.plan import Resolved
from keystead.consume.supervise import supervise
values = json.loads(sys.argv[1])
masking = sys.argv[2] == "mask"
child = [sys.executable, "-c", sys.argv[3], *sys.argv[4:]]
env = {f"S{i}": v for i, v in enumerate(values)}
sys.exit(supervise(child, lambda: Resolved(env, tuple(values), {}), masking=masking))
"""


def timed(args: list[str], runs: int) -> float:
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
        results.append(time.perf_counter() - start)
    return median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    options = parser.parse_args()
    size, runs = (32, 3) if options.quick else (options.megabytes, options.runs)
    python = sys.executable
    one = [secrets.token_urlsafe(24)]
    fifty = [secrets.token_urlsafe(24) for _ in range(50)]

    def under(values: list[str], mode: str, *extra: str) -> list[str]:
        return [python, "-c", RUNNER, json.dumps(values), mode, CHILD, str(size), *extra]

    cases = [
        ("| cat (baseline)", ["sh", "-c", f"{shlex.join([python, '-c', CHILD, str(size)])} | cat"]),
        ("--no-masking", under(one, "plain")),
        ("masking, 1 value", under(one, "mask")),
        ("masking, 50 values", under(fifty, "mask")),
        ("masking, 1 value found per 64 KiB", under(one, "mask", one[0])),
    ]
    print_machine()
    base = 0.0
    rows = [("case", "seconds", "MB/s", "vs | cat")]
    figures = []
    for name, args in cases:
        seconds = timed(args, runs)
        base = base or seconds
        rows.append((name, f"{seconds:.2f}", f"{size / seconds:,.0f}", fmt_ratio(base / seconds)))
        figures.append({"case": name, "seconds": seconds, "mb_per_s": size / seconds})
    print_table(f"child writing {size} MB, ending in /dev/null (median of {runs})", rows)
    if options.json:
        with open(options.json, "w", encoding="utf-8") as handle:
            json.dump({"megabytes": size, "runs": runs, "cases": figures}, handle, indent=2)


if __name__ == "__main__":
    main()
