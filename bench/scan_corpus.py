"""The scanner benchmark's corpus: code-like text seeded with known secrets.

    .venv/bin/python bench/scan_corpus.py               # ~200 MB, ~1 min
    .venv/bin/python bench/scan_corpus.py --quick       # ~20 MB, a few seconds

Deterministic from ``--seed``: the clean base is the text files of this
interpreter's site-packages and standard library (what the bench venv has
installed), read in sorted order, cycled under ``copy<N>/`` when more is
wanted than they hold. Into it go secrets from ``_scan_tokens`` (Keystead
keys, provider tokens with valid checksums, decoys), each inserted as whole
lines at a drawn line of a drawn file (drawn by size), a few in ``.env``
files of their own. ``manifest.json`` records every seed: file, first and
last line (1-based, counted on ``\\n``), kind, group, ``is_decoy``.

Also ``repo/``: a git repository of ``--commits`` commits made with
``git fast-import`` (deterministic: fixed names and dates), over a slice of
the corpus's small files, each commit editing one file; some commits add a
secret or a decoy, some later ones remove it. ``repo.json`` records which
commit added which seed, at which path and line.

Files that a line counter could read two ways (form feeds, lone carriage
returns, Unicode line separators), larger than 256 KiB, not UTF-8, or under
a vendored directory are left out, so every tool sees the same lines.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from _common import BENCH_DIR
from _scan_tokens import Seed, draw_seed

TEXT_SUFFIXES = frozenset(
    ".py .pyi .pyx .pxd .c .h .cpp .js .ts .json .toml .cfg .ini .yaml .yml .txt .md .rst "
    ".html .css .xml .sh .in .typed .csv".split()
)
SKIP_DIRS = frozenset(
    "__pycache__ _vendor vendor vendored node_modules bower_components third_party .git .hg "
    ".svn site-packages .venv venv dist build .eggs .tox .nox".split()
)
"""Vendored and generated directories, which scanners skip by default."""
AMBIGUOUS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
MAX_FILE = 256 * 1024
SEEDS_PER_MB = 8
DEFAULT_OUT = BENCH_DIR / ".scan-corpus"


@dataclass(frozen=True, slots=True)
class Placed:
    file: str
    line: int
    end_line: int
    kind: str
    group: str
    is_decoy: bool


def base_roots() -> list[tuple[str, Path]]:
    paths = sysconfig.get_paths()
    roots = [("site", Path(paths["purelib"])), ("stdlib", Path(paths["stdlib"]))]
    return [(label, path) for label, path in roots if path.is_dir()]


def base_id() -> str:
    """Names and sizes of the base's files and the generators' source: a corpus
    built from other installed packages or other code is rebuilt, not reused."""
    digest = hashlib.sha256()
    for source in ("_scan_tokens.py", "scan_corpus.py"):  # and how seeds are made
        digest.update((BENCH_DIR / source).read_bytes())
    for label, root in base_roots():
        for path in sorted(root.rglob("*")):
            if path.suffix in TEXT_SUFFIXES and path.is_file():
                digest.update(f"{label}/{path.relative_to(root)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def _clean(text: str) -> bool:
    if any(ch in text for ch in AMBIGUOUS):
        return False
    return "\r" not in text.replace("\r\n", "")


def clean_files() -> Iterator[tuple[str, str]]:
    """(relative path, text) of every usable text file, in a stable order."""
    for label, root in base_roots():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if path.suffix not in TEXT_SUFFIXES or SKIP_DIRS.intersection(rel.parts[:-1]):
                continue
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE:
                continue
            data = path.read_bytes()
            if not data or b"\0" in data:
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if _clean(text):
                yield f"{label}/{rel.as_posix()}", text


def pick_base(size_bytes: int) -> list[tuple[str, str]]:
    files = list(clean_files())
    if not files:
        sys.exit("no text files found under site-packages or the standard library")
    chosen: list[tuple[str, str]] = []
    total = 0
    cycle = 0
    while total < size_bytes:
        for rel, text in files:
            chosen.append((f"copy{cycle}/{rel}" if cycle else rel, text))
            total += len(text.encode("utf-8"))
            if total >= size_bytes:
                break
        cycle += 1
    return chosen


def insert_seeds(
    text: str, placements: list[tuple[int, Seed]], path: str
) -> tuple[str, list[Placed]]:
    """Insert each seed's lines before original line ``at`` (0-based)."""
    lines = text.split("\n")
    by_line: dict[int, list[Seed]] = {}
    for at, seed in placements:
        by_line.setdefault(min(at, len(lines) - 1), []).append(seed)
    out: list[str] = []
    placed: list[Placed] = []
    for index, line in enumerate(lines):
        for seed in by_line.get(index, ()):
            first = len(out) + 1
            out.extend(seed.lines)
            placed.append(Placed(path, first, len(out), seed.kind, seed.group, seed.is_decoy))
        out.append(line)
    return "\n".join(out), placed


def build_tree(out: Path, size_mb: float, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    base = pick_base(int(size_mb * 1_000_000))
    count = max(100, int(size_mb * SEEDS_PER_MB))
    cum_weights = list(itertools.accumulate(len(text) for _, text in base))
    own_files = max(2, count // 40)
    # which file and line each seed goes to; a few go to .env files of their own
    plan: dict[int, list[tuple[int, Seed]]] = {}
    env_files: dict[str, list[Seed]] = {}
    for n in range(count):
        item = draw_seed(rng)
        if n % 20 == 19:
            env_files.setdefault(f"deploy/env{n % own_files}/.env", []).append(item)
            continue
        index = rng.choices(range(len(base)), cum_weights=cum_weights)[0]
        line = rng.randrange(base[index][1].count("\n") + 1)
        plan.setdefault(index, []).append((line, item))

    tree = out / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    manifest: list[Placed] = []
    digest = hashlib.sha256()
    total = 0
    for index, (rel, text) in enumerate(base):
        placed: list[Placed] = []
        if index in plan:
            text, placed = insert_seeds(text, plan[index], rel)
            manifest.extend(placed)
        target = tree / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        target.write_bytes(data)
        digest.update(rel.encode() + b"\0" + data)
        total += len(data)
    for rel, seeds in sorted(env_files.items()):
        lines: list[str] = ["# deployment settings", "LOG_LEVEL=info"]
        for item in seeds:
            first = len(lines) + 1
            lines.extend(item.lines)
            manifest.append(Placed(rel, first, len(lines), item.kind, item.group, item.is_decoy))
        data = ("\n".join(lines) + "\n").encode()
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
        digest.update(rel.encode() + b"\0" + data)
        total += len(data)
    return {
        "seed": seed,
        "base_id": base_id(),
        "size_mb": size_mb,
        "bytes": total,
        "files": len(base) + len(env_files),
        "sha256": digest.hexdigest(),
        "seeds": [asdict(p) for p in manifest],
    }


# -- the git repository ------------------------------------------------------------


def _data(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"data %d\n" % len(raw) + raw + b"\n"


def build_repo(out: Path, commits: int, seed: int) -> dict[str, object]:
    """``commits`` commits by ``git fast-import``; returns what each secret commit added."""
    rng = random.Random(seed ^ 0x5EED)
    files = [(rel, text) for rel, text in clean_files() if 2_000 < len(text) < 20_000][:400]
    state = {rel: text.split("\n") for rel, text in files}
    paths = sorted(state)
    repo = out / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    stream = bytearray()
    when = 1_700_000_000
    live: list[tuple[str, tuple[str, ...]]] = []  # secrets present now: (path, lines)
    added: list[dict[str, object]] = []

    def commit(mark: int, message: str, changes: list[str]) -> None:
        nonlocal when
        when += 3_600
        author = f"Dev {mark % 7} <dev{mark % 7}@example.com> {when} +0000"
        stream.extend(f"commit refs/heads/main\nmark :{mark}\n".encode())
        stream.extend(f"author {author}\ncommitter {author}\n".encode())
        stream.extend(_data(message))
        if mark > 1:
            stream.extend(f"from :{mark - 1}\n".encode())
        for path in changes:
            stream.extend(f"M 100644 inline {path}\n".encode())
            stream.extend(_data("\n".join(state[path])))

    commit(1, "initial import", paths)
    for mark in range(2, commits + 1):
        roll = rng.random()
        if roll < 0.08:  # add a secret (or a decoy)
            item = draw_seed(rng)
            path = rng.choice(paths)
            at = rng.randrange(len(state[path]))
            state[path][at:at] = list(item.lines)
            live.append((path, item.lines))
            added.append(
                {
                    "mark": mark,
                    "file": path,
                    "line": at + 1,
                    "end_line": at + len(item.lines),
                    "kind": item.kind,
                    "group": item.group,
                    "is_decoy": item.is_decoy,
                }
            )
            commit(mark, f"configure {item.kind.split('-')[0]}", [path])
        elif roll < 0.12 and live:  # remove one
            path, lines = live.pop(rng.randrange(len(live)))
            current = state[path]
            for start in range(len(current) - len(lines) + 1):
                if tuple(current[start : start + len(lines)]) == lines:
                    del current[start : start + len(lines)]
                    break
            commit(mark, "remove credentials from config", [path])
        else:  # an ordinary edit
            path = rng.choice(paths)
            current = state[path]
            at = rng.randrange(len(current))
            current.insert(at, f"# note {mark}: {rng.getrandbits(32):08x}")
            commit(mark, f"update {Path(path).name}", [path])
    marks = repo / ".git" / "bench-marks"
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet", f"--export-marks={marks}"],
        input=bytes(stream),
        check=True,
    )
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)
    sha_of = dict(line.split(" ", 1) for line in marks.read_text().split("\n") if line)
    for entry in added:
        entry["commit"] = sha_of[f":{entry.pop('mark')}"].strip()
    return {"commits": commits, "stream_bytes": len(stream), "seeds": added}


def build(out: Path, size_mb: float, seed: int, commits: int) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    (DEFAULT_OUT / ".gitignore").write_text("*\n")  # built, never committed
    start = time.perf_counter()
    tree = build_tree(out, size_mb, seed)
    repo = build_repo(out, commits, seed)
    manifest = {"tree": tree, "repo": repo, "build_s": round(time.perf_counter() - start, 1)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def corpus_dir(size_mb: float, seed: int, commits: int) -> Path:
    return DEFAULT_OUT / f"s{seed}-{size_mb:g}mb-{commits}c"


def ensure(size_mb: float, seed: int, commits: int) -> tuple[Path, dict[str, object]]:
    """The corpus directory and its manifest, built once per (seed, size, commits)."""
    out = corpus_dir(size_mb, seed, commits)
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest["tree"].get("base_id") == base_id():
            return out, manifest
        print("the installed packages changed since the corpus was built", flush=True)
    print(f"building the corpus in {out.relative_to(BENCH_DIR.parent)} ...", flush=True)
    return out, build(out, size_mb, seed, commits)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--quick", action="store_true", help="~20 MB and 1,000 commits")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--commits", type=int, default=3_000)


def sized(args: argparse.Namespace) -> tuple[float, int]:
    if args.quick:
        return min(args.size_mb, 20.0), min(args.commits, 1_000)
    return args.size_mb, args.commits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    parser.add_argument("--out", type=Path, help="default: bench/.scan-corpus/<seed-size>")
    args = parser.parse_args()
    size_mb, commits = sized(args)
    out = args.out or corpus_dir(size_mb, args.seed, commits)
    manifest = build(out, size_mb, args.seed, commits)
    tree = manifest["tree"]
    repo = manifest["repo"]
    assert isinstance(tree, dict) and isinstance(repo, dict)
    print(
        f"{out}: {tree['files']:,} files, {tree['bytes'] / 1e6:,.1f} MB, "
        f"{len(tree['seeds'])} seeds; repo: {repo['commits']:,} commits, "
        f"{len(repo['seeds'])} seeds; sha256 {str(tree['sha256'])[:16]}; "
        f"{manifest['build_s']} s"
    )


if __name__ == "__main__":
    main()
