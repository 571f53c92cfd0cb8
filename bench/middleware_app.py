"""The apps of bench/middleware_http.py and bench/peers_http.py: one endpoint,
``GET /api/data``, answering the small JSON body ``{"data": [1, 2, 3]}``.

Each factory builds the same endpoint, bare or protected by Keystead's ASGI
middleware in embedded mode (``Embedded()``: the store, limiter and usage
recorder of the ``KEYSTEAD_*`` environment, opened on the first request):

    python -m uvicorn --app-dir bench --factory middleware_app:starlette_protected

* ``starlette_bare`` / ``starlette_protected``: a Starlette ``Route``, with
  ``Middleware(KeysteadMiddleware, guard=Embedded())`` for the latter;
* ``fastapi_bare`` / ``fastapi_protected``: a FastAPI route,
  ``app.add_middleware(KeysteadMiddleware, guard=Embedded())`` for the latter;
* ``fastapi_require_key``: the protected FastAPI app with the route also taking
  ``Depends(require_key("data.read"))``, the form docs/integrations.md shows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from keystead.core.models import VerifyContext
from keystead.integrations.asgi import ASGIApp, Message, Receive, Scope, Send
from keystead.integrations.embedded import Embedded
from keystead.integrations.fastapi import Identity, require_key
from keystead.integrations.guard import Check, Served
from keystead.integrations.starlette import KeysteadMiddleware

PATH = "/api/data"
DATA = [1, 2, 3]


async def data(request: Request) -> JSONResponse:
    return JSONResponse({"data": DATA})


def starlette_bare() -> Starlette:
    return Starlette(routes=[Route(PATH, data)])


def starlette_protected() -> Starlette:
    return Starlette(
        routes=[Route(PATH, data)],
        middleware=[Middleware(KeysteadMiddleware, guard=Embedded())],
    )


def _fastapi() -> FastAPI:
    app = FastAPI()

    @app.get(PATH)
    async def fastapi_data() -> dict[str, list[int]]:
        return {"data": DATA}

    return app


def fastapi_bare() -> FastAPI:
    return _fastapi()


def fastapi_protected() -> FastAPI:
    app = _fastapi()
    app.add_middleware(KeysteadMiddleware, guard=Embedded())
    return app


def fastapi_require_key() -> FastAPI:
    app = FastAPI()
    app.add_middleware(KeysteadMiddleware, guard=Embedded())

    @app.get(PATH)
    async def fastapi_data(
        key: Annotated[Identity, Depends(require_key("data.read"))],
    ) -> dict[str, list[int]]:
        return {"data": DATA}

    return app


FIXED_HEADERS = [
    (b"ratelimit-policy", b'"requests";q=1000000000;w=1'),
    (b"ratelimit", b'"requests";r=999999999;t=1'),
]


class _HeadersOnly:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *FIXED_HEADERS]}
            await send(message)

        await self.app(scope, receive, sending)


class _FixedGuard:
    """Answers every key with the same served check; completes nothing."""

    identity = Identity("key_probe", None, "api_probe", None, ("data.read",))

    async def check(self, key: str, context: VerifyContext, cost: int | None = None) -> Check:
        return Check(None, context, self.identity, None, FIXED_HEADERS)

    async def finish(self, check: Check, served: Served) -> None:
        return None

    async def close(self) -> None:
        return None


def starlette_headers_only() -> Starlette:
    return Starlette(routes=[Route(PATH, data)], middleware=[Middleware(_HeadersOnly)])


def starlette_fixed_check() -> Starlette:
    return Starlette(
        routes=[Route(PATH, data)],
        middleware=[Middleware(KeysteadMiddleware, guard=_FixedGuard())],
    )
