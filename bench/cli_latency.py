"""How long a ``keystead`` command takes as a whole process, locally and remotely.

Local mode opens the store and serves the command from the HTTP app in-process;
remote mode (``--url``) only talks HTTP to a running ``keystead serve``. Each
command runs ``--runs`` times, interleaved with the others (and with ``--vs``'s
commands), and the table gives the median wall and CPU time (user + sys of the
process, from ``wait4``) beside ``keystead --version``, the start-up floor
measured in the same run.

    python bench/cli_latency.py                       # this checkout
    python bench/cli_latency.py --vs OTHER/bin/keystead   # paired with another install

The store is a temporary SQLite one with an API and 50 keys; the server, when
remote mode is measured, is started on it and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import fmt_ratio, median, print_machine, print_table
from http_verify import free_port

KEYSTEAD = Path(sys.executable).with_name("keystead")


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of ``command``, which must succeed."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed: {errors.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def run_json(command: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--vs", type=Path, help="another install's keystead executable")
    parser.add_argument("--no-remote", action="store_true", help="local mode only")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="ks-cli-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {
        "KEYSTEAD_DATABASE_URL": f"sqlite:///{home / 'bench.db'}",
        "KEYSTEAD_SECRET_FILE": str(home / "bench.secret"),
    }
    ks = str(KEYSTEAD)
    root_key = str(run_json([ks, "init", "--json"], env)["root_key"])
    api = run_json([ks, "apis", "create", "bench", "--json"], env)["id"]
    batch = run_json([ks, "keys", "create", "--api", str(api), "--count", "50", "--json"], env)
    items = batch["items"]
    assert isinstance(items, list)
    key = items[0]["key"]

    installs = {"this": ks} | ({"vs": str(args.vs)} if args.vs else {})
    cases: dict[str, tuple[list[str], dict[str, str]]] = {}
    remote_env = env | {"KEYSTEAD_URL": "", "KEYSTEAD_ROOT_KEY": root_key}
    for label, exe in installs.items():
        cases[f"{label}: --version"] = ([exe, "--version"], env)
        cases[f"{label}: keys list --json"] = ([exe, "keys", "list", "--json"], env)
        cases[f"{label}: keys verify"] = ([exe, "keys", "verify", str(key), "--json"], env)
        if not args.no_remote:
            cases[f"{label}: --url keys list --json"] = (
                [exe, "keys", "list", "--json"],
                remote_env,
            )

    server = None
    if not args.no_remote:
        port = free_port()
        remote_env["KEYSTEAD_URL"] = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [ks, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while subprocess.run(
            [ks, "keys", "list", "--limit", "1", "--json"], env=remote_env, capture_output=True
        ).returncode:
            if time.monotonic() > deadline:
                raise SystemExit("keystead serve did not start")
            time.sleep(0.2)
    try:
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.runs + 1):  # the first round warms the page cache, uncounted
            for name, (command, case_env) in cases.items():
                samples[name].append(timed(command, case_env))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)

    if args.json:
        raw = {
            name: [{"wall_s": w, "cpu_s": c} for w, c in runs[1:]] for name, runs in samples.items()
        }
        args.json.write_text(json.dumps(raw, indent=2))
    print_machine()
    rows = [("command", "wall (median)", "cpu (median)", "cpu / --version")]
    for name, runs in samples.items():
        counted = runs[1:]
        wall = median([w for w, _ in counted])
        cpu = median([c for _, c in counted])
        floor = median([c for _, c in samples[f"{name.split(':')[0]}: --version"][1:]])
        rows.append(
            (name, f"{wall * 1000:,.0f} ms", f"{cpu * 1000:,.0f} ms", fmt_ratio(cpu / floor))
        )
    print_table(f"keystead commands, {args.runs} runs each, interleaved", rows)
    if args.vs:
        paired = [("command", "cpu this / vs")]
        for name in (n for n in cases if n.startswith("this: ")):
            mine = median([c for _, c in samples[name][1:]])
            theirs = median([c for _, c in samples["vs: " + name[len("this: ") :]][1:]])
            paired.append((name[len("this: ") :], fmt_ratio(mine / theirs)))
        print_table("against --vs, same run", paired)


if __name__ == "__main__":
    main()
