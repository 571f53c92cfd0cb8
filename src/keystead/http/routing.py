"""Route classes shared by the resource modules: every management route is a ``JsonRoute``.

``JsonRoute`` parses request bodies with orjson, which refuses what the standard
library lets through and no store can hold: ``NaN``/``Infinity``, lone UTF-16
surrogates, and nesting deeper than 1024 levels. A body that does not parse is a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from keystead.http.auth import authenticate_request
from keystead.http.openapi import COMMON


class _OrjsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # orjson.JSONDecodeError subclasses json.JSONDecodeError: FastAPI answers 400
            self._json = orjson.loads(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """Authenticates first (a caller without a valid root key learns nothing about the
    body it sent: 401 before 400, 415 or 422), then parses JSON with orjson."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            request = _OrjsonRequest(request.scope, request.receive)
            await authenticate_request(request)
            return await handler(request)

        return route_handler


def router(**options: Any) -> APIRouter:
    """An APIRouter whose routes parse JSON with orjson and document problem responses."""
    return APIRouter(
        route_class=JsonRoute,
        responses=COMMON,
        strict_content_type=False,  # no Content-Type: parse as JSON; a non-JSON one is a 415
        **options,
    )


__all__ = ["JsonRoute", "router"]
