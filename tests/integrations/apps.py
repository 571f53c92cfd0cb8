"""Small apps the tests protect: each endpoint echoes what the app received
(headers, query, identity), so a test can prove the credential never reached it."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from keystead.integrations.fastapi import require_key as needs_key
from keystead.integrations.identity import Identity
from keystead.integrations.starlette import identity, require_key


def seen(request: Request, key: Identity | None, body: bytes = b"") -> dict[str, Any]:
    return {
        "headers": dict(request.headers),
        "cookies": request.cookies,
        "query": request.url.query,
        "identity": None if key is None else {**asdict(key), "meta": dict(key.meta)},
        "body_length": len(body),
    }


class Gate:
    """Holds ``/slow`` requests until released: for concurrency tests."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()


def starlette_app(middleware: list[Middleware], gate: Gate | None = None) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(seen(request, identity(request), body))

    @require_key("documents.read")
    async def documents(request: Request) -> Response:
        return JSONResponse(seen(request, identity(request)))

    async def slow(request: Request) -> Response:
        if gate is not None:
            gate.entered.set()
            await gate.release.wait()
        return JSONResponse({"done": True})

    async def broken(request: Request) -> Response:
        raise RuntimeError("the app failed")

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        key = websocket.scope["state"]["keystead"]
        await websocket.send_json({"key_id": key.key_id, "headers": dict(websocket.headers)})
        await websocket.close()

    routes = [
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/open/echo", echo, methods=["GET", "POST"]),
        Route("/documents", documents),
        Route("/open/documents", documents),
        Route("/slow", slow),
        Route("/broken", broken),
        WebSocketRoute("/ws", socket),
    ]
    return Starlette(routes=routes, middleware=middleware)


def documents_app() -> FastAPI:
    app = FastAPI()

    @app.get("/documents")
    async def documents(
        request: Request,
        key: Annotated[Identity, Depends(needs_key("documents.read"))],
    ) -> dict[str, Any]:
        return {
            "key_id": key.key_id,
            "state": request.state.keystead.key_id,
            "authorization": request.headers.get("authorization"),
        }

    @app.get("/anyone")
    async def anyone(key: Annotated[Identity, Depends(needs_key())]) -> dict[str, Any]:
        return {"key_id": key.key_id, "permissions": list(key.permissions)}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


__all__ = ["Gate", "documents_app", "seen", "starlette_app"]
