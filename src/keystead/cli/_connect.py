"""The one way commands reach Keystead: the SDK's ``Client``.

With ``--url`` / ``KEYSTEAD_URL`` the client talks to that server with the root
key of ``--root-key-file`` / ``KEYSTEAD_ROOT_KEY``. Without, it talks to the same
HTTP application in this process, opened on the local store and authenticated
as its local operator (``keystead.http.inprocess``): no server is started and
no socket is opened. Either way a command gets the HTTP API's own answers, so
``--json`` prints the same document in both modes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from keystead.cli import _output as out
from keystead.cli._runtime import (
    CliState,
    UsageProblem,
    confirm,
    quiet_service_logs,
    read_root_key,
)
from keystead.client import Client

Json = dict[str, Any]
REMOTE_TIMEOUT_S = 10.0


@contextmanager
def open_client(state: CliState) -> Iterator[Client]:
    """The client the global options name, closed when the command is done."""
    url = state.server_url()
    if url:
        try:
            client = Client(url, read_root_key(state), timeout=REMOTE_TIMEOUT_S)
        except ValueError as exc:
            raise UsageProblem(f"--url / KEYSTEAD_URL: {exc}") from None
    else:
        from keystead.http.inprocess import local_client

        quiet_service_logs()
        client = local_client(state.settings(), state.workspace)
    try:
        yield client
    finally:
        client.close()


def run_delete(
    state: CliState,
    remove: Callable[[Client], object],
    *,
    prompt: str,
    done: str,
    answer: Json,
    yes: bool,
    json_out: bool,
) -> None:
    """What every delete command does: confirm, remove, report."""
    confirm(prompt, yes=yes, json_mode=json_out)
    with open_client(state) as client:
        remove(client)
    out.emit({"deleted": True, **answer}, json_out, lambda c: c.print(done, markup=False))


__all__ = ["Json", "open_client", "run_delete"]
