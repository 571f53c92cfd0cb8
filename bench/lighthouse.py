"""Lighthouse scores of the dashboard: the overview and a key page of a seeded server.

    .venv/bin/python bench/lighthouse.py               # Lighthouse's default (mobile, throttled)
    .venv/bin/python bench/lighthouse.py --desktop     # the desktop preset
    .venv/bin/python bench/lighthouse.py --runs 5      # median of 5 runs per page (default 3)

Starts ``keystead serve`` as a user does (defaults, a temporary SQLite store), seeds it
through the HTTP API (bench/_dashboard_demo.py: APIs, plans, owners, keys, a few hundred
verifications), signs in with Chromium through the real form, then runs, per page,

    CHROME_PATH=/usr/bin/chromium npx --yes lighthouse@12.2.3 URL \\
      --only-categories=performance,accessibility --output=json \\
      --chrome-flags="--headless=new --no-sandbox" --extra-headers='{"Cookie": "ks_session=..."}'

and prints the performance and accessibility scores with the metrics behind them (the
run with the median performance score, as Lighthouse CI does: total blocking time moves
with the machine's load), and the accessibility audits that failed. Needs Node (npx)
and Debian's chromium (``make system-deps``); Lighthouse comes from the npm registry
into npx's cache, nothing is committed. Targets (issue 18): performance >= 90, accessibility >= 95.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import print_machine, print_table, require_tool
from _dashboard_demo import CHROMIUM, Demo, demo_server, seed, signed_in_cookie

LIGHTHOUSE = "lighthouse@12.2.3"
METRICS = (
    ("first-contentful-paint", "FCP"),
    ("largest-contentful-paint", "LCP"),
    ("total-blocking-time", "TBT"),
    ("cumulative-layout-shift", "CLS"),
)


def run_lighthouse(url: str, cookie: tuple[str, str], desktop: bool, out: Path) -> dict[str, Any]:
    npx = require_tool("npx", "apt-get install nodejs npm")
    argv = [
        npx,
        "--yes",
        LIGHTHOUSE,
        url,
        "--quiet",
        "--only-categories=performance,accessibility",
        "--output=json",
        f"--output-path={out}",
        "--chrome-flags=--headless=new --no-sandbox",
        "--extra-headers=" + json.dumps({"Cookie": f"{cookie[0]}={cookie[1]}"}),
    ]
    if desktop:
        argv.append("--preset=desktop")
    env = os.environ | {"CHROME_PATH": CHROMIUM}
    subprocess.run(argv, env=env, check=True, timeout=300)
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def score(report: dict[str, Any], category: str) -> str:
    value = report["categories"][category]["score"]
    return "n/a" if value is None else f"{value * 100:.0f}"


def failed_accessibility(report: dict[str, Any]) -> list[str]:
    refs = report["categories"]["accessibility"]["auditRefs"]
    failed = []
    for ref in refs:
        audit = report["audits"][ref["id"]]
        if audit.get("score") is not None and audit["score"] < 1 and ref.get("weight", 0) > 0:
            failed.append(f"{ref['id']}: {audit['title']}")
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desktop", action="store_true", help="Lighthouse's desktop preset")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per page; the median by performance is shown"
    )
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: run `make system-deps` (apt-get install chromium)")
    print_machine()
    preset = "desktop" if args.desktop else "mobile (default)"
    print(f"{LIGHTHOUSE}, {preset} preset, median of {max(1, args.runs)} runs per page")
    with demo_server() as demo, tempfile.TemporaryDirectory() as tmp:
        seed(demo)
        cookie = signed_in_cookie(demo)
        rows: list[tuple[str, ...]] = [
            ("page", "performance", "accessibility", *(short for _, short in METRICS))
        ]
        problems: list[str] = []
        for name, path in pages(demo):
            reports = [
                run_lighthouse(demo.url + path, cookie, args.desktop, Path(tmp) / f"{name}{i}.json")
                for i in range(max(1, args.runs))
            ]
            reports.sort(key=lambda r: r["categories"]["performance"]["score"] or 0)
            report = reports[len(reports) // 2]
            final = report.get("finalDisplayedUrl", "")
            if "/sign-in" in final:
                sys.exit(f"{path} landed on {final}: the session cookie was not accepted")
            audits = report["audits"]
            rows.append(
                (
                    f"{name} ({path})",
                    score(report, "performance"),
                    score(report, "accessibility"),
                    *(audits[audit_id]["displayValue"] for audit_id, _ in METRICS),
                )
            )
            problems += [f"{name}: {line}" for line in failed_accessibility(report)]
        print_table("Lighthouse scores (targets: performance >= 90, accessibility >= 95)", rows)
        if problems:
            print("\naccessibility audits failed:")
            for line in problems:
                print(f"  {line}")


def pages(demo: Demo) -> list[tuple[str, str]]:
    key_id = next(iter(demo.key_ids.values()))
    return [("overview", "/ui/"), ("key", f"/ui/keys/{key_id}")]


if __name__ == "__main__":
    main()
