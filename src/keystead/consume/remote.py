"""The secrets of a plan read through the SDK (``keystead.client.Client``), and
the watcher that suits the client: the change stream of a server, or polling
the metadata of the local store."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol

import httpx

from keystead import __version__
from keystead.consume.plan import Address, Reader, SecretValue
from keystead.consume.watch import (
    FallbackWatcher,
    PollWatcher,
    StreamWatcher,
    refused_message,
)


class SecretsClient(Protocol):
    """What is used of ``keystead.client.Client``."""

    http: httpx.Client

    def read_secret(
        self, path: str, *, mount: str = ..., version: int | None = ...
    ) -> dict[str, Any]: ...

    def read_secret_metadata(self, path: str, *, mount: str = ...) -> dict[str, Any]: ...


def identify(client: SecretsClient, name: str) -> None:
    """Say in the client's User-Agent which command reads (``keystead-run/1.2``), so
    that the audit log, which records it, tells ``keystead run`` from other readers."""
    current = client.http.headers.get("User-Agent", "")
    client.http.headers["User-Agent"] = f"{name}/{__version__} {current}".strip()


def client_reader(client: SecretsClient) -> Reader:
    def read(mount: str, path: str) -> SecretValue:
        answer = client.read_secret(path, mount=mount)
        metadata = answer.get("metadata") or {}
        version = metadata.get("version")
        return SecretValue(dict(answer["data"]), version if isinstance(version, int) else None)

    return read


def metadata_fingerprint(
    client: SecretsClient, addresses: Collection[Address]
) -> Callable[[], object]:
    """What changes when one of the secrets changes: their metadata (versions,
    deletion times), read without reading (or auditing) any value."""

    def fingerprint() -> object:
        return [client.read_secret_metadata(path, mount=mount) for mount, path in addresses]

    return fingerprint


def open_watcher(
    client: SecretsClient,
    addresses: Collection[Address],
    *,
    remote: bool,
    notify: Callable[[str], None],
    ready_timeout_s: float = 5.0,
) -> StreamWatcher | FallbackWatcher | PollWatcher:
    """The change stream against a server (polling if it refuses the stream),
    polling on the local store. Waits until the stream is caught up, so that a
    change made after this returns is not missed."""
    fingerprint = metadata_fingerprint(client, addresses)
    if not remote:
        return PollWatcher(fingerprint)

    def stream(on_refused: Callable[[int], None]) -> StreamWatcher:
        return StreamWatcher(client.http, addresses, on_refused)

    watcher = FallbackWatcher(stream, lambda: PollWatcher(fingerprint), notify)
    watcher.stream.settled.wait(ready_timeout_s)
    if watcher.stream.refused is not None:
        watcher.close()
        notify(refused_message(watcher.stream.refused))
        return PollWatcher(fingerprint)
    return watcher


__all__ = ["SecretsClient", "client_reader", "identify", "metadata_fingerprint", "open_watcher"]
