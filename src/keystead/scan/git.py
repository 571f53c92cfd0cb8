"""Reading a git repository for the scanner: the whole history, or the index.

History is read with two ``git`` processes, whatever its size: ``git log
--reverse --topo-order --raw`` lists every blob each commit adds, parents
before children, so the first commit that lists a blob id is the one that
introduced it; ``git cat-file --batch`` then streams each distinct blob once.
A blob that appears at ten paths or in a hundred commits is read and scanned
once, and reported at the commit and path where it first appeared.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from keystead.scan.finding import Commit

NULL_OID = "0" * 40
_SUBMODULE_MODE = "160000"
_ADDED = frozenset("ACMRT")  # statuses whose new side is a blob worth reading
_CHUNK = 1 << 16


class GitError(Exception):
    """git is missing, the path is not a repository, or a revision is unknown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A blob to read: its object id, the path it was found at, and (history
    only) the commit that introduced it."""

    oid: str
    path: str
    commit: Commit | None = None


@dataclass(frozen=True, slots=True)
class History:
    """What ``git log`` listed: each distinct blob once, and every path that
    was ever added (for the hygiene check of files that should not be tracked)."""

    blobs: list[BlobRef]
    paths: dict[str, Commit | None]
    """Every path ever added or changed, with the first commit that did."""
    commits: int


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(repo), *args],  # noqa: S607 - git from PATH, as the user runs it
            input=input,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(detail[-1] if detail else f"git {args[0]} failed")
    return done.stdout


def toplevel(path: Path) -> Path:
    """The work tree's root for ``path``; :class:`GitError` when it is not in one."""
    where = path if path.is_dir() else path.parent
    try:
        out = _git(where, "rev-parse", "--show-toplevel")
    except GitError:
        raise GitError(f"{path} is not inside a git repository") from None
    return Path(out.decode().strip())


def history_root(path: Path) -> Path:
    """Where to read history from: the work tree's root, or a bare repository
    itself (a mirror on a server has history but no work tree)."""
    try:
        return toplevel(path)
    except GitError:
        where = path if path.is_dir() else path.parent
        try:
            bare = _git(where, "rev-parse", "--is-bare-repository").decode().strip()
        except GitError:
            bare = "false"
        if bare != "true":
            raise
        return Path(_git(where, "rev-parse", "--absolute-git-dir").decode().strip())


def resolve_commit(repo: Path, rev: str) -> str:
    """The commit id ``rev`` names; :class:`GitError` for an unknown revision."""
    if rev.startswith("-"):
        raise GitError(f"not a revision: {rev}")
    try:
        out = _git(
            repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
    except GitError:
        raise GitError(f"unknown revision: {rev}") from None
    return out.decode().strip()


def tracked_paths(repo: Path) -> list[str]:
    """Every path in the index (``git ls-files``), relative to the root."""
    return [
        p.decode("utf-8", "surrogateescape") for p in _git(repo, "ls-files", "-z").split(b"\0") if p
    ]


def _tokens(stream: IO[bytes]) -> Iterator[bytes]:
    """The NUL-separated fields of a ``-z`` output, read as it arrives."""
    pending = b""
    while chunk := stream.read(_CHUNK):
        pending += chunk
        *done, pending = pending.split(b"\0")
        yield from done
    if pending:
        yield pending


def _raw_entries(tokens: Iterator[bytes]) -> Iterator[tuple[str | None, str, str]]:
    """``(header, "", "")`` where a commit starts (``%x01`` format), then
    ``(None, meta, path)`` for each raw line of its diff."""
    for token in tokens:
        text = token.lstrip(b"\n")
        if text.startswith(b"\x01"):
            yield text[1:].decode("utf-8", "replace"), "", ""
        elif text.startswith(b":"):
            path = next(tokens, b"").decode("utf-8", "surrogateescape")
            yield None, text[1:].decode("ascii", "replace"), path


def _commit_of(header: str) -> Commit:
    sha, author, email, date = [*header.split("\x1f"), "", "", ""][:4]
    return Commit(sha=sha, author=author, email=email, date=date)


def _parse_raw(meta: str) -> tuple[str, str, str] | None:
    """``old_mode new_mode old_oid new_oid status`` -> ``(new_mode, new_oid, status)``."""
    parts = meta.split()
    if len(parts) < 5:
        return None
    return parts[1], parts[3], parts[4][:1]


def history(repo: Path, *, branches: Sequence[str] = (), since: str | None = None) -> History:
    """Every distinct blob reachable from ``branches`` (default: every ref),
    excluding what ``since`` already reaches, each with the commit that
    introduced it: the first commit, parents first, whose diff adds it."""
    revs = [resolve_commit(repo, b) for b in branches] or ["--all"]
    if since is not None:
        revs.append(f"^{resolve_commit(repo, since)}")
    argv = [
        "git", "-C", str(repo), "log", "--reverse", "--topo-order", "--raw", "--no-abbrev",
        "--no-renames", "--diff-merges=first-parent", "-z", "--no-textconv", "--no-ext-diff",
        "--format=%x01%H%x1f%an%x1f%ae%x1f%aI", *revs, "--",
    ]  # fmt: skip
    seen: dict[str, BlobRef] = {}
    paths: dict[str, Commit | None] = {}
    commits = 0
    commit: Commit | None = None
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # noqa: S603
        if proc.stdout is None or proc.stderr is None:  # pragma: no cover - PIPE was asked
            raise GitError("git log: no output pipe")
        for header, meta, path in _raw_entries(_tokens(proc.stdout)):
            if header is not None:
                commit, commits = _commit_of(header), commits + 1
                continue
            parsed = _parse_raw(meta)
            if parsed is None:
                continue
            mode, oid, status = parsed
            if status not in _ADDED or oid == NULL_OID or mode == _SUBMODULE_MODE:
                continue
            paths.setdefault(path, commit)
            if oid not in seen:
                seen[oid] = BlobRef(oid, path, commit)
        error = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise GitError(error.splitlines()[-1] if error else "git log failed")
    return History(blobs=list(seen.values()), paths=paths, commits=commits)


def staged(repo: Path) -> list[BlobRef]:
    """The blobs the next commit would add or change (the index against HEAD;
    everything staged in a repository with no commit yet)."""
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
        base = "HEAD"
    except GitError:
        base = _git(repo, "hash-object", "-t", "tree", "--stdin", input=b"").decode().strip()
    out = _git(repo, "diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", base)
    blobs: list[BlobRef] = []
    tokens = iter(out.split(b"\0"))
    for header, meta, path in _raw_entries(tokens):
        parsed = None if header is not None else _parse_raw(meta)
        if parsed is None:
            continue
        mode, oid, status = parsed
        if status in _ADDED and oid != NULL_OID and mode != _SUBMODULE_MODE:
            blobs.append(BlobRef(oid, path))
    return blobs


def read_blobs(
    repo: Path, blobs: Iterable[BlobRef], *, max_bytes: int
) -> Iterator[tuple[BlobRef, bytes | None]]:
    """Each blob's content, in order, through one ``git cat-file --batch``;
    ``None`` for a blob over ``max_bytes`` (read past, never held whole)."""
    refs = list(blobs)
    argv = ["git", "-C", str(repo), "cat-file", "--batch"]
    with subprocess.Popen(  # noqa: S603
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as proc:
        if proc.stdin is None or proc.stdout is None:  # pragma: no cover - PIPE was asked
            raise GitError("git cat-file: no pipe")
        feeder = threading.Thread(target=_feed, args=(proc.stdin, refs), daemon=True)
        feeder.start()
        out = proc.stdout
        for ref in refs:
            head = out.readline().split()
            if len(head) < 3 or head[1] != b"blob":
                continue  # missing object (a shallow clone): nothing to read
            size = int(head[2])
            if size > max_bytes:
                _skip(out, size + 1)
                yield ref, None
                continue
            data = out.read(size)
            out.read(1)  # the newline after the content
            yield ref, data
        feeder.join()


def _feed(stdin: IO[bytes], refs: Sequence[BlobRef]) -> None:
    try:
        for ref in refs:
            stdin.write(ref.oid.encode() + b"\n")
        stdin.close()
    except (BrokenPipeError, OSError):  # the reader stopped early
        pass


def _skip(stream: IO[bytes], count: int) -> None:
    while count > 0:
        got = stream.read(min(count, _CHUNK))
        if not got:
            return
        count -= len(got)


def hooks_dir(repo: Path) -> Path:
    """Where git looks for hooks (``core.hooksPath`` honoured)."""
    out = _git(repo, "rev-parse", "--path-format=absolute", "--git-path", "hooks")
    return Path(out.decode().strip())


def relpath_in(repo: Path, path: Path) -> str:
    """``path`` relative to the repository root, with forward slashes."""
    return Path(os.path.relpath(path.resolve(), repo.resolve())).as_posix()


__all__ = [
    "BlobRef",
    "GitError",
    "History",
    "history",
    "history_root",
    "hooks_dir",
    "read_blobs",
    "relpath_in",
    "resolve_commit",
    "staged",
    "toplevel",
    "tracked_paths",
]
