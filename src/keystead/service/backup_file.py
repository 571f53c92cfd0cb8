"""A backup file on disk: the header, then the row stream (JSON lines, zlib
compressed) sealed in chunks (``core.archive``).

The row stream is one line per JSON value: ``{"table": NAME}`` opens a table,
each row is an array of its values in the header's column order, and
``{"end": true}`` closes the stream. A file is written beside its final name
(``NAME.partial``, mode 0600) and renamed once complete, so a backup that
failed half way never looks like one."""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

from keystead.core.archive import (
    NOT_A_BACKUP,
    TRUNCATED,
    ChunkOpener,
    ChunkSealer,
    header_bytes,
    parse_header,
)
from keystead.errors import IntegrityError, ValidationError

_READ = 1 << 20


class BackupWriter:
    """Writes one backup file: :meth:`line` per stream value, then :meth:`commit`."""

    def __init__(self, path: Path, header: Mapping[str, Any], data_key: bytes) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        try:
            fd = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise ValidationError(f"cannot write {self._partial}: {exc.strerror}") from None
        self._file: IO[bytes] = os.fdopen(fd, "wb")
        prefix = header_bytes(header)
        self._sealer = ChunkSealer(data_key, prefix)
        self._zip = zlib.compressobj(6)
        self.size = 0
        self._put(prefix)

    def _put(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise ValidationError(f"cannot write {self._partial}: {exc.strerror}") from None
        self.size += len(data)

    def line(self, value: Any) -> None:
        self.lines((value,))

    def lines(self, values: Iterable[Any]) -> None:
        """Several stream values at once (one call to the compressor)."""
        packed = self._zip.compress(b"".join(orjson.dumps(v) + b"\n" for v in values))
        if packed:
            for chunk in self._sealer.feed(packed):
                self._put(chunk)

    def commit(self) -> None:
        for chunk in self._sealer.feed(self._zip.flush()):
            self._put(chunk)
        self._put(self._sealer.finish())
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._partial, self.path)
        except OSError as exc:
            raise ValidationError(f"cannot write {self.path}: {exc.strerror}") from None

    def discard(self) -> None:
        self._file.close()
        with contextlib.suppress(OSError):
            self._partial.unlink()


class BackupReader:
    """Reads a backup file: :attr:`header` at once, :meth:`values` once opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: IO[bytes] = path.open("rb")
        except OSError as exc:
            raise ValidationError(f"cannot read {path}: {exc.strerror}") from None
        prefix = b""
        try:
            while True:
                header, end = parse_header(prefix)
                if end >= 0:
                    break
                more = self._read()
                if not more:
                    raise IntegrityError(NOT_A_BACKUP if len(prefix) < 16 else TRUNCATED)
                prefix += more
        except BaseException:
            self._file.close()
            raise
        self.header: dict[str, Any] = header
        self._associated = prefix[:end]
        self._rest = prefix[end:]

    def _read(self) -> bytes:
        try:
            return self._file.read(_READ)
        except OSError as exc:
            raise ValidationError(f"cannot read {self.path}: {exc.strerror}") from None

    def close(self) -> None:
        self._file.close()

    def values(self, data_key: bytes) -> Iterator[Any]:
        """Every value of the row stream, in order; the file's integrity is
        checked as it is read, and its end (the final chunk) before the last value."""
        opener = ChunkOpener(data_key, self._associated)
        unzip = zlib.decompressobj()
        tail, data = b"", self._rest
        while True:
            plain = b"".join(opener.feed(data)) if data else opener.finish()
            try:
                text = tail + unzip.decompress(plain)
            except zlib.error:
                raise IntegrityError(f"{NOT_A_BACKUP}: its rows do not decompress") from None
            *lines, tail = text.split(b"\n")
            yield from _parsed(lines)
            if not data:
                if tail or not unzip.eof or unzip.unused_data:
                    raise IntegrityError(TRUNCATED)
                return
            data = self._read()


def _parsed(lines: list[bytes]) -> Iterator[Any]:
    for line in lines:
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError:
            raise IntegrityError(NOT_A_BACKUP + ": a line of its row stream is not JSON") from None


__all__ = ["BackupReader", "BackupWriter"]
