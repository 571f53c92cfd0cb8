"""Where the recorder's batches are written: on the serving process
(``InlineWriter``), or by a writer process beside it (``ProcessWriter``).

Writing a record costs far more than verifying a key (SQLite: ~17 us per raw
row with its indexes, against ~4 us for a cached verification), so a server at
saturation gives the writes to a child process on another core. The serving
process then only flattens the batch to one list of plain values (``flatten``)
and sends it down a pipe (``marshal``: data only, nothing in it can run); the child
resolves countries, builds the rollups, commits, feeds its own export sinks and
acknowledges. One batch is in flight at a time, so a refused or lost batch goes
back to the recorder's buffer exactly as with the inline writer.

Frames on both pipes: 4-byte big-endian length, then the payload. The first
frame down is the configuration (JSON); then batches (marshal) down and
acknowledgements (JSON ``{"ok": true}``, or ``{"ok": false, "error": ...}`` with
``"refused": true`` when the store refused the batch's content) up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import marshal
import os
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from keystead._heap import freeze_startup_heap
from keystead.core.geo import GeoIPCountryResolver, default_resolver
from keystead.core.usage import UsageRecord
from keystead.errors import ConfigurationError, KeysteadError, StoreUnavailable
from keystead.events.exporters.rfc5424 import DEFAULT_SD_ID
from keystead.events.usage._rollup import entries, flatten, records_of, summarise, to_record
from keystead.store.usage import UsageStore

log = logging.getLogger("keystead.usage")
_HEADER = struct.Struct(">I")
_MAX_FRAME = 256 * 1024 * 1024
START_TIMEOUT_S = 60.0
ACK_TIMEOUT_S = 120.0


class BatchRefused(KeysteadError):
    """The store (or the pipe to the writer process) refused a batch for its
    content, not for being unreachable: splitting it will get the rest written."""

    status = 422
    title = "Records refused"


class BatchWriter(Protocol):
    async def write(self, batch: Sequence[Any]) -> None:
        """Commit the records of a flat batch (``SLOTS`` items per entry, as the
        recorder's buffer holds them) and their rollups, or raise:
        ``StoreUnavailable`` when the store cannot be reached (the batch is
        retried), anything else when it refused the batch's content (the
        batch is split)."""
        ...

    async def close(self) -> None: ...


class InlineWriter:
    """Records, rollups and the SQL on this process (the flusher task)."""

    def __init__(
        self,
        store: UsageStore,
        resolver: GeoIPCountryResolver | None,
        on_written: Callable[[], Callable[[list[UsageRecord]], None] | None],
    ) -> None:
        self._store = store
        self._resolver = resolver
        self._on_written = on_written

    async def write(self, batch: Sequence[Any]) -> None:
        resolver = await _loaded(self._resolver)
        self._resolver = resolver
        records = [to_record(entry, resolver) for entry in entries(batch)]
        await self._store.write_usage(records, summarise(records))
        hook = self._on_written()
        if hook is not None:
            hook(records)

    async def close(self) -> None:
        return None


class ProcessWriter:
    """A child process (running ``keystead.events.usage.writer.main``) that
    writes the batches; started on the first batch, restarted after it dies."""

    def __init__(
        self,
        database_url: str,
        export_urls: Sequence[str],
        *,
        geoip: bool,
        sd_id: str = DEFAULT_SD_ID,
        gc_tuning: bool = True,
    ) -> None:
        self._config = {
            "database_url": database_url,
            "export_urls": list(export_urls),
            "geoip": geoip,
            "sd_id": sd_id,
            "gc_tuning": gc_tuning,
        }
        self._process: asyncio.subprocess.Process | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def write(self, batch: Sequence[Any]) -> None:
        payload = marshal.dumps(flatten(batch))
        if len(payload) > _MAX_FRAME:  # the recorder splits the batch
            raise BatchRefused("the batch is too large for one frame to the usage writer")
        process = await self._running()
        try:
            await _send(process, payload)
            reply = await asyncio.wait_for(_receive(process), ACK_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError) as exc:
            await self._stop(kill=True)
            raise StoreUnavailable(f"the usage writer process failed: {exc!r}") from None
        answer = json.loads(reply)
        if answer.get("refused"):
            raise BatchRefused(f"the store refused the batch: {answer.get('error')}")
        if not answer.get("ok"):
            raise StoreUnavailable(f"the usage writer could not write: {answer.get('error')}")

    async def _running(self) -> asyncio.subprocess.Process:
        process = self._process
        if process is not None and process.returncode is None:
            return process
        if process is not None:
            self.restarts += 1
            log.warning("usage writer process exited (%s); starting another", process.returncode)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from keystead.events.usage.writer import main; main()",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._process = process
        try:
            await _send(process, json.dumps(self._config).encode())
            ready = json.loads(await asyncio.wait_for(_receive(process), START_TIMEOUT_S))
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError) as exc:
            await self._stop(kill=True)
            raise StoreUnavailable(f"the usage writer process did not start: {exc!r}") from None
        if not ready.get("ok"):
            await self._stop(kill=True)
            raise StoreUnavailable(f"the usage writer did not start: {ready.get('error')}")
        return process

    async def close(self) -> None:
        """End of input: the child writes nothing more, closes and exits."""
        await self._stop(kill=False)

    async def _stop(self, *, kill: bool) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        if kill:
            process.kill()
        elif process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 30.0)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _loaded(resolver: GeoIPCountryResolver | None) -> GeoIPCountryResolver | None:
    if resolver is not None and not resolver.loaded:
        try:
            await asyncio.to_thread(resolver.load)  # ~0.1 s once per process
        except ConfigurationError:
            log.warning("no GeoIP data: usage records carry no country")
            return None
    return resolver


async def _send(process: asyncio.subprocess.Process, payload: bytes) -> None:
    stdin = process.stdin
    if stdin is None:
        raise EOFError("no pipe to the writer")
    stdin.write(_HEADER.pack(len(payload)) + payload)
    await stdin.drain()


async def _receive(process: asyncio.subprocess.Process) -> bytes:
    stdout = process.stdout
    if stdout is None:
        raise EOFError("no pipe from the writer")
    (size,) = _HEADER.unpack(await stdout.readexactly(_HEADER.size))
    return await stdout.readexactly(size)


# the child --------------------------------------------------------------------
def _read_frame(stream: Any) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None  # the parent closed the pipe (or died): stop
    (size,) = _HEADER.unpack(header)
    if size > _MAX_FRAME:
        raise ValueError("frame too large")
    payload: bytes = stream.read(size)
    if len(payload) < size:
        return None
    return payload


def _write_frame(stream: Any, answer: dict[str, Any]) -> None:
    payload = json.dumps(answer).encode()
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


async def _serve(source: Any, sink: Any) -> None:
    from keystead.events.exporters import open_sinks
    from keystead.events.exporters.hub import ExportHub
    from keystead.events.exporters.producers import from_usage
    from keystead.store import open_store

    first = _read_frame(source)
    if first is None:
        return
    config = json.loads(first)
    try:
        store = open_store(config["database_url"])
        hub = ExportHub(open_sinks(config["export_urls"], sd_id=config["sd_id"]))
    except Exception as exc:  # reported to the parent, which logs it
        _write_frame(sink, {"ok": False, "error": _describe(exc)})
        return
    resolver = await _loaded(default_resolver()) if config["geoip"] else None
    hub.start()
    # as a server does: each batch's records outlive many young collections, which
    # would otherwise walk them again and again, and the modules' objects with them
    freeze_startup_heap(tune=config.get("gc_tuning", True))
    _write_frame(sink, {"ok": True})
    loop = asyncio.get_running_loop()
    try:
        while True:
            frame = await loop.run_in_executor(None, _read_frame, source)
            if frame is None:
                break
            fields = marshal.loads(frame)  # noqa: S302 - our own parent, plain data only
            try:
                records = records_of(fields, resolver)
                await store.write_usage(records, summarise(records))
            except StoreUnavailable as exc:  # the parent keeps the batch and retries
                _write_frame(sink, {"ok": False, "error": _describe(exc)})
                continue
            except Exception as exc:  # refused for its content: the parent splits it
                _write_frame(sink, {"ok": False, "refused": True, "error": _describe(exc)})
                continue
            hub.offer(from_usage(records))
            _write_frame(sink, {"ok": True})
    finally:
        await hub.close()
        await store.close()


def _describe(exc: Exception) -> str:
    """What the parent may log: our own errors' messages (written to be safe),
    only the type of anything else (a driver's text can carry a URL or values)."""
    if isinstance(exc, KeysteadError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def main() -> None:
    """The child: frames in on stdin, acknowledgements out on stdout."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the frame stream
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(source, sink))
    os._exit(0)  # skip interpreter teardown: everything is closed and flushed


__all__ = ["BatchRefused", "BatchWriter", "InlineWriter", "ProcessWriter"]
