"""The verification step every adapter shares, behind one small interface.

A *guard* verifies a key and, once the app has answered, completes the work:
it hands back concurrency leases and records usage with the response's status,
time and sizes. ``Embedded`` / ``SyncEmbedded`` verify in-process against a
``Keystead`` service; ``Remote`` / ``SyncRemote`` ask a Keystead server through
the SDK. Adapters only see ``Check``.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter
from typing import Any, NamedTuple, Protocol, TypedDict

from keystead.core.answers import Outcome
from keystead.core.models import VerifyContext
from keystead.core.verify import MALFORMED
from keystead.integrations.identity import Identity
from keystead.integrations.refusal import Answer, Headers, limit_headers, refusal, unavailable

log = logging.getLogger("keystead.integrations")
_UNUSABLE = refusal(MALFORMED, 0.0)


class Served(NamedTuple):
    """How the app answered a checked request, for its usage record."""

    status: int | None
    response_ms: float
    bytes_in: int | None = None
    bytes_out: int | None = None

    @classmethod
    def since(
        cls,
        started: float,
        status: int | None,
        bytes_in: int | None = None,
        bytes_out: int | None = None,
    ) -> Served:
        """Answered now, for a request that began at ``perf_counter()`` = ``started``."""
        return cls(status, (perf_counter() - started) * 1000, bytes_in, bytes_out)


class GuardOptions(TypedDict, total=False):
    """Options of every guard: ``cost`` spent on every limit of the key per
    request (a route may say otherwise; default 1), extra ``ratelimits``
    counted for every request, ``tags`` on the usage records; ``tokens``
    (default True): accept access tokens (JWTs) besides keys, whose ``aud``
    must be one of ``audience`` (default: the API id of the token's issuer)."""

    cost: int
    ratelimits: Sequence[Any]
    tags: Sequence[str]
    tokens: bool
    audience: str | Sequence[str]


class Check:
    """One verification's result, as the adapters use it.

    ``identity`` is set when the key is usable; otherwise ``answer`` is the
    refusal to send. ``headers`` are the rate-limit headers to add to a served
    response. ``outcome`` is None when verification could not run (503).
    ``unsettled``: decided in a worker thread (``Keystead.verify_now``), its
    bookkeeping still due on the service's loop."""

    __slots__ = ("answer", "context", "headers", "identity", "leases", "outcome", "unsettled")

    def __init__(
        self,
        outcome: Outcome | None,
        context: VerifyContext,
        identity: Identity | None,
        answer: Answer | None,
        headers: Headers,
        leases: tuple[str, ...] = (),
    ) -> None:
        self.outcome = outcome
        self.context = context
        self.identity = identity
        self.answer = answer
        self.headers = headers
        self.leases = leases
        self.unsettled = False


def decided(
    outcome: Outcome,
    context: VerifyContext,
    identity: Identity | None,
    now: float,
    leases: tuple[str, ...] = (),
    windows: Mapping[str, int] | None = None,
) -> Check:
    """The check of a verification that ran: served with its rate-limit headers
    when ``identity`` is set, refused otherwise."""
    if identity is not None:
        return Check(
            outcome, context, identity, None, limit_headers(outcome, now, windows=windows), leases
        )
    return Check(outcome, context, None, refusal(outcome, now, windows=windows), [], leases)


def unusable(context: VerifyContext) -> Check:
    """The check of a credential no key can be, refused without asking anyone:
    the same 401 as any unknown key."""
    return Check(None, context, None, _UNUSABLE, [])


def failed(context: VerifyContext) -> Check:
    """The check of a verification that could not run: answer 503."""
    return Check(None, context, None, unavailable(), [])


class Guard(Protocol):
    """Verification for asyncio apps (ASGI)."""

    async def check(self, key: str, context: VerifyContext, cost: int | None = None) -> Check:
        """Verify ``key`` for a request; ``cost`` overrides the guard's default."""
        ...

    async def finish(self, check: Check, served: Served) -> None:
        """After the answer: release leases, record the completed request."""
        ...

    async def close(self) -> None: ...


class SyncGuard(Protocol):
    """Verification for threaded apps (WSGI, Django); ``finish`` never blocks."""

    def check(self, key: str, context: VerifyContext, cost: int | None = None) -> Check: ...

    def finish(self, check: Check, served: Served) -> None: ...

    def close(self) -> None: ...


class InFlight:
    """Requests a threaded guard checked and has not finished yet.

    Threaded servers (Werkzeug, Django's runserver) serve on daemon threads and
    exit without waiting for them, and a response can reach the client before
    its thread hands the request back: a closing guard first waits (bounded)
    for those, so their usage is written too."""

    __slots__ = ("_count", "_idle")

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition(threading.Lock())

    def begin(self) -> None:
        with self._idle:
            self._count += 1

    def end(self, *_: object) -> None:
        with self._idle:
            self._count -= 1
            if self._count <= 0:
                self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until every begun request ended, at most ``timeout`` seconds;
        False when some were still running."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count <= 0, timeout)


DRAIN_SECONDS = 5.0


def at_exit(callback: Callable[[], None]) -> None:
    """Call ``callback`` as the interpreter exits, while thread pools still
    run (writing usage may need one): with threading's exit hooks, which run
    before ``atexit``'s, in reverse order, so after importing the pools' own."""
    import concurrent.futures.thread  # noqa: F401  (its exit hook first, so it runs last)

    register = getattr(threading, "_register_atexit", None)
    (register or atexit.register)(callback)


__all__ = [
    "DRAIN_SECONDS",
    "Check",
    "Guard",
    "GuardOptions",
    "InFlight",
    "Served",
    "SyncGuard",
    "at_exit",
    "decided",
    "failed",
    "log",
    "unusable",
]
