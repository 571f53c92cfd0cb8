"""``file://PATH``: the master keys in a 0600 JSON file (the default provider).

Everything after ``file://`` is the path: ``file:///etc/keystead/master.secret``
is absolute, ``file://keystead-master-key.secret`` relative to the working
directory. The file::

    {"format": "keystead-master-keys", "format_version": 1,
     "keys": [{"version": 1, "key": "<base64 of 32 random bytes>"}, ...]}

The highest version is current. A file that group or others may read is
refused, as the server secret file is. Writes (create, rotate, retire) go to a new 0600
file beside it, then replace it atomically, under an exclusive ``flock`` so two
rotations never both make version n+1. A process notices another's rotation
(the file changed on disk) before its next wrap, and before an unwrap that needs
a version it has not seen. Otherwise an unwrap (every secret read) trusts the
file as checked in the last ``RECHECK_S``: a retired version or a removed file
is noticed by reads within that bound, without a ``stat`` per read.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from keystead.errors import ConfigurationError
from keystead.keyring._material import KeyMaterial, MaterialKeyring, decode_kek, material_of

FORMAT = "keystead-master-keys"
FORMAT_VERSION = 1
RECHECK_S = 1.0
"""How long an unwrap (or ``exists``) trusts the file as last checked on disk."""


class FileKeyring(MaterialKeyring):
    """Master keys in a private file; see the module docstring for the format."""

    read_only = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"file://{path}"
        self._material: KeyMaterial | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._checked_at = -RECHECK_S
        """``time.monotonic()`` of the last check of the file on disk."""

    @classmethod
    def from_url(cls, url: str) -> FileKeyring:
        raw = unquote(url.partition("://")[2])
        if not raw:
            raise ConfigurationError("a file:// master key URL needs a path: file:///path/to/file")
        return cls(Path(raw))

    def exists(self) -> bool:
        if self._material is not None and self._recently_checked():
            return True
        return self.path.exists()

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        material = self._material
        if material is None or not self._recently_checked() or not material.has(version):
            material = self._keys()
        return material.unwrap(version, wrapped)

    def _recently_checked(self) -> bool:
        return time.monotonic() - self._checked_at < RECHECK_S

    def create(self) -> None:
        """Write version 1 unless the file exists (then leave it as it is)."""
        with contextlib.suppress(FileExistsError):
            _write_new(self.path, KeyMaterial.generate())

    def rotate(self) -> int:
        with self._locked():
            material = self._load().with_new_version()
            self._replace(material)
        return material.current_version

    def retire(self, version: int) -> None:
        """Rewrite the file without ``version`` (same 0600 file, replaced atomically)."""
        with self._locked():
            self._replace(self._load().without_version(version))

    def _replace(self, material: KeyMaterial) -> None:
        """Under the lock: write ``material`` beside the file, then replace it."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        _write_new(tmp, material)
        os.replace(tmp, self.path)
        _sync_dir(self.path.parent)
        self._material, self._stamp, self._checked_at = None, None, -RECHECK_S

    def _keys(self) -> KeyMaterial:
        """The keys, read again when the file changed on disk since last read."""
        stamp = self._stat_stamp()
        if self._material is None or stamp != self._stamp:
            self._material, self._stamp = self._load(), stamp
        self._checked_at = time.monotonic()
        return self._material

    def _stat_stamp(self) -> tuple[int, int, int]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise ConfigurationError(
                f"no master key at {self.path}: run 'keystead init' to create it, "
                "or set KEYSTEAD_MASTER_KEY_URL"
            ) from None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def _load(self) -> KeyMaterial:
        self._stat_stamp()  # the clear message for a missing file
        mode = self.path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"{self.path} is readable by other users; run 'chmod 600 {self.path}'"
            )
        return _parse(self.path.read_bytes(), str(self.path))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the file as it is now (retaken if it was replaced
        while we waited)."""
        while True:
            self._stat_stamp()
            fd = os.open(self.path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if os.fstat(fd).st_ino == self.path.stat().st_ino:
                    yield
                    return
            finally:
                os.close(fd)

    def __repr__(self) -> str:
        return f"FileKeyring({str(self.path)!r})"


def _parse(data: bytes, origin: str) -> KeyMaterial:
    """The file's keys; an error names the file and what is wrong, never a key."""
    try:
        doc: Any = json.loads(data)
    except ValueError:
        raise ConfigurationError(f"{origin} is not a Keystead master key file (not JSON)") from None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != FORMAT
        or not isinstance(doc.get("keys"), list)
    ):
        raise ConfigurationError(f"{origin} is not a Keystead master key file")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ConfigurationError(f"{origin}: unsupported format_version (this Keystead reads 1)")
    keks: dict[int, bytes] = {}
    for entry in doc["keys"]:
        version = entry.get("version") if isinstance(entry, dict) else None
        if type(version) is not int or not isinstance(entry.get("key"), str):
            raise ConfigurationError(f"{origin}: each key needs an integer version and a key")
        if version in keks:
            raise ConfigurationError(f"{origin}: master key version {version} appears twice")
        keks[version] = decode_kek(entry["key"], origin, version)
    return material_of(keks, origin)


def _write_new(path: Path, material: KeyMaterial) -> None:
    """Create ``path`` (it must not exist) with mode 0600 and the keys."""
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "keys": [{"version": v, "key": key} for v, key in material.encoded()],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(doc, indent=1) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["FileKeyring"]
