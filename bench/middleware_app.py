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

from keystead.integrations.embedded import Embedded
from keystead.integrations.fastapi import Identity, require_key
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
