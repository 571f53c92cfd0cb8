"""The few commands that act on this machine's store rather than on the API:
managing workspaces (the API is one workspace's), and running by hand a job that
a server's scheduler runs on its own (an audit checkpoint, an alert pass).

They open the service directly, as the local operator; every other command goes
through the SDK (``_connect.open_client``). Each says "local store only" in its
``--help`` and refuses ``--url`` / ``KEYSTEAD_URL``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from keystead.cli._runtime import CliState, quiet_service_logs

if TYPE_CHECKING:
    from keystead.core.authz import Principal
    from keystead.service import Keystead

T = TypeVar("T")


@dataclass(slots=True)
class LocalStore:
    """The service over the local store, on an event loop of its own."""

    runner: asyncio.Runner
    service: Keystead
    workspace_id: str | None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def operator(self) -> Principal:
        """The local operator of ``--workspace`` (default: the first workspace)."""
        return self.run(self.service.workspaces.local_operator(self.workspace_id))


@contextmanager
def open_local_store(state: CliState, what: str) -> Iterator[LocalStore]:
    """The local store for the command ``what``, which ``--url`` cannot serve."""
    from keystead.service import Keystead

    state.require_local(what)
    quiet_service_logs()
    with asyncio.Runner() as runner:
        service = runner.run(Keystead.open(settings=state.settings(), create_secret=False))
        try:
            yield LocalStore(runner, service, state.workspace)
        finally:
            runner.run(service.close())


__all__ = ["LocalStore", "open_local_store"]
