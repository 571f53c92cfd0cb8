"""The overview (``/ui/``)."""

from __future__ import annotations

from starlette.responses import Response

from keystead.web.routing import WebRequest, page


@page("/ui/")
async def overview(req: WebRequest) -> Response:
    return req.render("ui/overview/index.html")
