"""What ``keystead scan`` reads: files, the git history, the index, or stdin.

Each source yields findings and fills a :class:`~keystead.scan.report.Summary`;
the hygiene check (files that should never be tracked) runs on the paths each
source knows to be tracked. A progress bar shows on long scans when stderr is
a terminal, never in a pipe or CI log.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from keystead.cli import _output as out
from keystead.scan import git, hygiene
from keystead.scan.engine import Scanner
from keystead.scan.files import (
    BINARY,
    EXCLUDED,
    SNIFF_BYTES,
    TOO_LARGE,
    UNREADABLE,
    VENDORED,
    VENDORED_DIRS,
    exclude_pattern,
    iter_files,
)
from keystead.scan.finding import Finding
from keystead.scan.report import Summary

STDIN_PATH = "stdin"
_BAR_FROM_BYTES = 8 << 20
"""A path scan shows its bar from this much data on (a small scan ends first)."""
_BAR_FROM_BLOBS = 500


@dataclass(slots=True)
class Collected:
    findings: list[Finding] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)


@contextmanager
def progress(total: int, label: str, *, unit_bytes: bool) -> Iterator[Callable[[int], None]]:
    """``advance(n)`` for a bar on stderr, or a no-op off a terminal."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        yield lambda _n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    count = DownloadColumn() if unit_bytes else MofNCompleteColumn()
    columns = (TextColumn("{task.description}"), BarColumn(), count, TimeRemainingColumn())
    with Progress(*columns, console=out.stderr(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def excluded(path: str, globs: Sequence[str]) -> bool:
    """A repository path matches an ``--exclude`` glob, with the same meaning
    as in a scan of files."""
    return any(exclude_pattern(g).fullmatch(path) for g in globs)


def display_path(path: Path) -> str:
    """Relative to the working directory where it lies under it, POSIX-style."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def scan_paths(
    scanner: Scanner, paths: Sequence[Path], *, exclude: Sequence[str], max_bytes: int
) -> Collected:
    got = Collected()
    entries = list(iter_files(paths, exclude=exclude, max_bytes=max_bytes))
    total = sum(e.size for e in entries if e.skipped is None)
    with progress(total if total >= _BAR_FROM_BYTES else 0, "scanning", unit_bytes=True) as step:
        for entry in entries:
            if entry.skipped is not None:
                if entry.path.name != ".git":  # never scanned, not worth a mention
                    got.summary.skipped[entry.skipped] += 1
                continue
            try:
                data = entry.path.read_bytes()
            except OSError:
                got.summary.skipped[UNREADABLE] += 1
                continue
            got.summary.files += 1
            got.summary.bytes += len(data)
            got.findings.extend(scanner.scan_bytes(data, display_path(entry.path)))
            step(entry.size)
    got.findings.extend(_tracked_hygiene(paths, exclude))
    return got


def _tracked_hygiene(paths: Sequence[Path], exclude: Sequence[str]) -> list[Finding]:
    """Hygiene findings for the tracked files under ``paths`` (none outside git)."""
    tracked: set[str] = set()
    for path in paths:
        try:
            repo = git.toplevel(path.resolve())
        except git.GitError:
            continue
        under = git.relpath_in(repo, path)
        for name in git.tracked_paths(repo):
            if under in (".", "") or name == under or name.startswith(under.rstrip("/") + "/"):
                tracked.add(display_path(repo / name))
    return hygiene.check(p for p in tracked if not excluded(p, exclude))


def _read_blobs(
    scanner: Scanner,
    repo: Path,
    blobs: Sequence[git.BlobRef],
    got: Collected,
    *,
    max_bytes: int,
) -> None:
    with progress(
        len(blobs) if len(blobs) >= _BAR_FROM_BLOBS else 0, "scanning blobs", unit_bytes=False
    ) as step:
        for ref, data in git.read_blobs(repo, blobs, max_bytes=max_bytes):
            step(1)
            if data is None:
                got.summary.skipped[TOO_LARGE] += 1
                continue
            if b"\0" in data[:SNIFF_BYTES]:
                got.summary.skipped[BINARY] += 1
                continue
            got.summary.bytes += len(data)
            for finding in scanner.scan_bytes(data, ref.path):
                got.findings.append(dataclasses.replace(finding, commit=ref.commit))


def scan_history(
    scanner: Scanner,
    repo: Path,
    *,
    branches: Sequence[str],
    since: str | None,
    exclude: Sequence[str],
    max_bytes: int,
) -> Collected:
    """Every blob reachable from the branches once, each secret reported once
    per path at the commit that introduced it; hygiene over every path the
    history ever added."""
    got = Collected()
    walked = git.history(repo, branches=branches, since=since)
    blobs = [b for b in walked.blobs if not _skip(b.path, exclude, got.summary)]
    got.summary.commits = walked.commits
    got.summary.blobs = len(blobs)
    got.summary.files = len(blobs)
    _read_blobs(scanner, repo, blobs, got, max_bytes=max_bytes)
    got.findings = _first_seen(got.findings)
    for finding in hygiene.check(p for p in walked.paths if not excluded(p, exclude)):
        got.findings.append(dataclasses.replace(finding, commit=walked.paths[finding.path]))
    return got


def _first_seen(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per rule, path and secret: the first. Blobs are read in the
    order history introduced them, so a secret kept through later edits of its
    file (each edit a new blob) is reported once, at its introducing commit."""
    kept: dict[str, Finding] = {}
    for finding in findings:
        kept.setdefault(finding.fingerprint, finding)
    return list(kept.values())


def scan_staged(
    scanner: Scanner, repo: Path, *, exclude: Sequence[str], max_bytes: int
) -> Collected:
    """What the next commit adds: each staged blob, and hygiene on its paths."""
    got = Collected()
    blobs = [b for b in git.staged(repo) if not _skip(b.path, exclude, got.summary)]
    got.summary.blobs = len(blobs)
    got.summary.files = len(blobs)
    _read_blobs(scanner, repo, blobs, got, max_bytes=max_bytes)
    got.findings.extend(hygiene.check(b.path for b in blobs))
    return got


def scan_stdin(scanner: Scanner, *, max_bytes: int) -> Collected:
    got = Collected()
    data = sys.stdin.buffer.read(max_bytes + 1)
    if len(data) > max_bytes:
        got.summary.skipped[TOO_LARGE] += 1
        return got
    got.summary.files = 1
    got.summary.bytes = len(data)
    got.findings.extend(scanner.scan_bytes(data, STDIN_PATH))
    return got


def _skip(path: str, exclude: Sequence[str], summary: Summary) -> bool:
    """A blob passed over by path: excluded, or under a vendored directory
    (the defaults of a scan of files, :mod:`keystead.scan.files`)."""
    if excluded(path, exclude):
        summary.skipped[EXCLUDED] += 1
        return True
    if any(part in VENDORED_DIRS for part in path.split("/")[:-1]):
        summary.skipped[VENDORED] += 1
        return True
    return False


__all__ = [
    "STDIN_PATH",
    "Collected",
    "display_path",
    "excluded",
    "progress",
    "scan_history",
    "scan_paths",
    "scan_staged",
    "scan_stdin",
]
