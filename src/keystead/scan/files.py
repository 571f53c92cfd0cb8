"""Which files a scan reads, and why it passes over the others.

Defaults a user can rely on: binary files (a NUL byte in the first 8 KiB),
files over ``DEFAULT_MAX_BYTES``, symbolic links and vendored or generated
directories (:data:`VENDORED_DIRS`) are skipped, and so is anything matching an
``--exclude`` glob. A path named explicitly on the command line is read even
inside a vendored directory. Every skipped file or directory is yielded with
its reason so that the user sees what was not read.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from keystead.errors import ValidationError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
"""Files larger than this (10 MiB) are skipped: lock files, data dumps and
bundles, which cost the most and rarely hold a hand-pasted secret."""
SNIFF_BYTES = 8192
VENDORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "vendor",
        ".venv",
        "venv",
        "site-packages",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        "dist",
        "build",
        ".eggs",
    }
)
"""Directory names never descended into: dependencies, caches, build output."""

BINARY = "binary"
TOO_LARGE = "too large"
VENDORED = "vendored"
EXCLUDED = "excluded"
SYMLINK = "symlink"
UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file to scan (``skipped`` is ``None``) or one passed over, with why.
    A skipped directory is one entry with ``size`` 0."""

    path: Path
    size: int
    skipped: str | None = None


def iter_files(
    paths: Sequence[Path], *, exclude: Sequence[str] = (), max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[FileEntry]:
    """Every file under ``paths`` in a stable (sorted) order. A path that does
    not exist raises :class:`~keystead.errors.ValidationError` before anything
    is yielded."""
    roots = [Path(path) for path in paths]
    for root in roots:
        if not root.exists() and not root.is_symlink():
            raise ValidationError(f"{root}: no such file or directory", field="paths")
    matchers = [_glob(pattern) for pattern in exclude]
    for root in roots:
        if root.is_dir() and not root.is_symlink():
            yield from _walk(root, "", matchers, max_bytes)
        else:
            yield _entry(root, root.name, matchers, max_bytes, follow=True)


def _walk(
    directory: Path, relative_dir: str, matchers: list[re.Pattern[str]], max_bytes: int
) -> Iterator[FileEntry]:
    """The walk keeps paths as strings: ``pathlib`` per file was a third of
    the time a scan of small files took."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        yield FileEntry(directory, 0, UNREADABLE)
        return
    for item in entries:
        path = directory / item.name
        relative = relative_dir + item.name
        try:
            is_dir = item.is_dir(follow_symlinks=False)
        except OSError:
            yield FileEntry(path, 0, UNREADABLE)
            continue
        if is_dir:
            if matchers and _excluded(relative, matchers):
                yield FileEntry(path, 0, EXCLUDED)
            elif item.name in VENDORED_DIRS:
                yield FileEntry(path, 0, VENDORED)
            else:
                yield from _walk(path, relative + "/", matchers, max_bytes)
        else:
            yield _entry(path, relative, matchers, max_bytes)


def _entry(
    path: Path,
    relative: str,
    matchers: list[re.Pattern[str]],
    max_bytes: int,
    *,
    follow: bool = False,
) -> FileEntry:
    """A symbolic link met in a walk is skipped; one named explicitly is read."""
    if matchers and (_excluded(relative, matchers) or _excluded(path.as_posix(), matchers)):
        return FileEntry(path, 0, EXCLUDED)
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return FileEntry(path, 0, UNREADABLE)
    if stat.S_ISLNK(info.st_mode):
        return FileEntry(path, 0, SYMLINK)
    if not stat.S_ISREG(info.st_mode):
        return FileEntry(path, 0, UNREADABLE)
    if info.st_size > max_bytes:
        return FileEntry(path, info.st_size, TOO_LARGE)
    try:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            head = os.read(descriptor, SNIFF_BYTES)
        finally:
            os.close(descriptor)
    except OSError:
        return FileEntry(path, info.st_size, UNREADABLE)
    if is_binary(head):
        return FileEntry(path, info.st_size, BINARY)
    return FileEntry(path, info.st_size)


def is_binary(data: bytes) -> bool:
    """The skip rule for binary content: a NUL byte in the first 8 KiB. For
    callers holding a file's bytes already (git blobs, stdin)."""
    return b"\0" in data[:SNIFF_BYTES]


def _excluded(relative: str, matchers: list[re.Pattern[str]]) -> bool:
    return any(matcher.fullmatch(relative) for matcher in matchers)


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """A gitignore-like glob as a regex over a ``/``-separated relative path:
    ``*`` and ``?`` stay within one component, ``**`` spans any number, and a
    pattern without ``/`` matches a name at any depth (``*.min.js``) and
    everything under a directory of that name."""
    anchored = "/" in pattern.strip("/")
    body = pattern.strip("/")
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if body.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if body.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = body.find("]", index + 1)
            if close == -1:
                out.append(re.escape(char))
            else:
                inner = body[index + 1 : close].replace("\\", "\\\\")
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out.append(f"[{inner}]")
                index = close
        else:
            out.append(re.escape(char))
        index += 1
    core = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    try:
        return re.compile(f"{prefix}{core}(?:/.*)?")
    except re.error as exc:
        raise ValidationError(
            f"--exclude {pattern!r}: not a valid glob ({exc})", field="exclude"
        ) from None


__all__ = [
    "BINARY",
    "DEFAULT_MAX_BYTES",
    "EXCLUDED",
    "SYMLINK",
    "TOO_LARGE",
    "UNREADABLE",
    "VENDORED",
    "VENDORED_DIRS",
    "FileEntry",
    "is_binary",
    "iter_files",
]
