"""Flask: ``Keystead(app)`` installs the WSGI middleware; ``@require_key(...)``
guards a view and puts the caller's ``Identity`` at ``flask.g.keystead``::

    keys = Keystead(app)                  # embedded, KEYSTEAD_* from the environment

    @app.get("/api/data")
    @require_key("data.read")
    def data(): return {"owner": g.keystead.owner_id}

Views without ``@require_key`` stay open unless ``public=False``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, Unpack, cast

from flask import Flask, Response, current_app, g, request

from keystead.integrations.embedded import SyncEmbedded
from keystead.integrations.guard import SyncGuard
from keystead.integrations.identity import Identity
from keystead.integrations.refusal import Answer, KeyRefused
from keystead.integrations.rules import ProtectOptions
from keystead.integrations.wsgi import IDENTITY, KeysteadMiddleware, pending_of

View = TypeVar("View", bound=Callable[..., Any])


class Keystead:
    """The Flask extension: ``Keystead(app, guard)`` or ``init_app(app)`` later.
    ``guard`` defaults to ``SyncEmbedded()`` (a service from ``KEYSTEAD_*``).
    The other options are those of the WSGI middleware; ``public`` defaults
    to True here: only ``@require_key`` views need a key."""

    def __init__(
        self,
        app: Flask | None = None,
        guard: SyncGuard | None = None,
        **options: Unpack[ProtectOptions],
    ) -> None:
        self.guard = guard
        options.setdefault("public", True)
        self._options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        if self.guard is None:
            self.guard = SyncEmbedded()
        app.wsgi_app = KeysteadMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, self.guard, **self._options
        )
        app.extensions["keystead"] = self
        app.before_request(_load_identity)


def _load_identity() -> None:
    g.keystead = request.environ.get(IDENTITY)


def require_key(
    permissions: str | None = None, *, cost: int | None = None
) -> Callable[[View], View]:
    """Guard a view: a key whose permissions satisfy ``permissions`` (any valid
    key when None); otherwise the view is not called and the client gets a
    401, 403, 429 or 503 problem+json answer."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            pending = pending_of(request.environ)
            if pending is None:
                raise RuntimeError("require_key needs the Keystead extension: Keystead(app)")
            try:
                g.keystead = pending.identity(permissions, cost)
            except KeyRefused as refused:
                return problem_response(refused.answer)
            return current_app.ensure_sync(view)(*args, **kwargs)

        return cast(View, guarded)

    return decorate


def current_identity() -> Identity | None:
    """The verified key of the current request, if any."""
    value = g.get("keystead")
    return value if isinstance(value, Identity) else None


def problem_response(answer: Answer) -> Response:
    status, headers, body = answer
    response = Response(body, status)
    response.headers.clear()
    for name, value in headers:
        response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
    return response


__all__ = ["Keystead", "current_identity", "problem_response", "require_key"]
