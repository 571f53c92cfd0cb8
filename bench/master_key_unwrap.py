"""Master key cost: unwraps per second with ``file://`` against ``pkcs11:`` (SoftHSM2).

    .venv/bin/python bench/master_key_unwrap.py            # about 30 s
    .venv/bin/python bench/master_key_unwrap.py --quick    # smoke run, about 5 s

Both keyrings are made in a temporary directory in the same run: a ``file://``
key file, and a throwaway SoftHSM2 token (temporary ``SOFTHSM2_CONF``, token
initialised with ``softhsm2-util``; ``make system-deps`` installs SoftHSM2).
Measured on one thread, through the public keyring calls: ``unwrap`` of a
wrapped 32-byte data key (what opening a stored secret costs beside AES-GCM),
``wrap``, and a whole ``unseal`` of a 1 KiB item. ``--threads N`` adds an
unwrap run from N threads on the one shared keyring.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from _common import fmt_rate, fmt_ratio, fmt_us, machine_rows, median, print_machine, print_table

from keystead.core.envelope import seal, secret_aad, unseal
from keystead.keyring import Keyring, open_keyring

SOFTHSM2 = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "bench-pin-1234"


def rate(fn: Callable[[], object], seconds: float, runs: int) -> float:
    """Median calls per second over ``runs`` timed runs of about ``seconds`` each."""
    results = []
    for _ in range(runs):
        calls = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(50):
                fn()
            calls += 50
        results.append(calls / elapsed)
    return median(results)


def threaded_rate(fn: Callable[[], object], threads: int, seconds: float) -> float:
    deadline = time.perf_counter() + seconds

    def worker() -> int:
        calls = 0
        while time.perf_counter() < deadline:
            fn()
            calls += 1
        return calls

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: worker(), range(threads)))
    return total / (time.perf_counter() - start)


def softhsm_keyring(root: Path) -> Keyring:
    if not os.path.exists(SOFTHSM2) or shutil.which("softhsm2-util") is None:
        raise SystemExit(f"SoftHSM2 is not installed ({SOFTHSM2}): run 'make system-deps'")
    tokens = root / "tokens"
    tokens.mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    os.environ["KEYSTEAD_BENCH_HSM_PIN"] = PIN
    pins = ("--pin", PIN, "--so-pin", "so-" + PIN)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "bench", *pins],
        check=True,
        capture_output=True,
    )
    keyring = open_keyring(
        f"pkcs11:token=bench;object=keystead-master?module-path={SOFTHSM2}"
        "&pin-source=env:KEYSTEAD_BENCH_HSM_PIN"
    )
    keyring.create()
    return keyring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--threads", type=int, default=4, help="threads for the shared run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    seconds, runs = (0.3, 3) if args.quick else (1.0, args.runs)

    with tempfile.TemporaryDirectory(prefix="keystead-mk-bench-") as tmp:
        root = Path(tmp)
        file_keyring = open_keyring(f"file://{root / 'master.secret'}")
        file_keyring.create()
        keyrings = {"file://": file_keyring, "pkcs11: (SoftHSM2)": softhsm_keyring(root)}

        data_key = os.urandom(32)
        here = secret_aad("ws_1", "secret", "payments/stripe", 1)
        figures: dict[str, dict[str, float]] = {}
        for name, keyring in keyrings.items():
            version, wrapped = keyring.wrap(data_key)
            assert keyring.unwrap(version, wrapped) == data_key
            sealed = seal(os.urandom(1024), here, keyring)
            unwrap = partial(keyring.unwrap, version, wrapped)
            figures[name] = {
                "unwrap": rate(unwrap, seconds, runs),
                "wrap": rate(partial(keyring.wrap, data_key), seconds, runs),
                "unseal": rate(partial(unseal, sealed, here, keyring), seconds, runs),
                "threads": threaded_rate(unwrap, args.threads, seconds),
            }

    print_machine()
    base = figures["file://"]
    rows: list[tuple[str, ...]] = [
        ("keyring", "unwrap", "per unwrap", "wrap", "unseal 1 KiB", f"unwrap, {args.threads} thr"),
    ]
    for name, got in figures.items():
        rows.append(
            (
                name,
                fmt_rate(got["unwrap"]),
                fmt_us(1 / got["unwrap"]),
                fmt_rate(got["wrap"]),
                fmt_rate(got["unseal"]),
                fmt_rate(got["threads"]),
            )
        )
    hsm = figures["pkcs11: (SoftHSM2)"]
    rows.append(
        (
            "file:// / pkcs11:",
            fmt_ratio(base["unwrap"] / hsm["unwrap"]),
            f"+{fmt_us(1 / hsm['unwrap'] - 1 / base['unwrap'])}",
            fmt_ratio(base["wrap"] / hsm["wrap"]),
            fmt_ratio(base["unseal"] / hsm["unseal"]),
            fmt_ratio(base["threads"] / hsm["threads"]),
        )
    )
    print_table("master key: wrap and unwrap of a 32-byte data key (one thread)", rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        facts = dict(machine_rows())
        args.json.write_text(json.dumps({"machine": facts, "figures": figures}, indent=1) + "\n")


if __name__ == "__main__":
    main()
