"""Leaked keys reported (``/ui/leaks``): the reports, one report, and the leak
policies (workspace, an API's, the one that applies), through the service calls
of ``GET /v1/leaks``, ``/v1/leaks/{id}`` and ``/v1/leaks/policy``."""

from __future__ import annotations

from starlette.responses import Response

from keystead.errors import Forbidden
from keystead.web.pages.custody_fields import PAGE_SIZE, object_id, query_id
from keystead.web.routing import WebRequest, page


@page("/ui/leaks")
async def leaks(req: WebRequest) -> Response:
    p = req.principal
    key_id = query_id(req, "key_id")
    api_id = query_id(req, "api_id")
    found = await req.ks.leaks.list(
        p, key_id=key_id, cursor=query_id(req, "cursor"), limit=PAGE_SIZE
    )
    policy = await req.ks.leaks.policies.get(p, api_id)
    try:
        apis = list(await req.ks.apis.list(p))
    except Forbidden:
        apis = []  # the API picker needs apis.read; the workspace's policy shows anyway
    return req.render(
        "ui/leaks/index.html",
        leaks=found.items,
        next_cursor=found.next_cursor,
        params={"key_id": key_id, "api_id": api_id},
        key_id=key_id,
        api_id=api_id,
        apis=apis,
        policy=policy,
    )


@page("/ui/leaks/{leak_id}")
async def leak(req: WebRequest) -> Response:
    leak_id = object_id(req.path("leak_id"), "leak_id") or ""
    found = await req.ks.leaks.get(req.principal, leak_id)
    return req.render("ui/leaks/detail.html", leak=found)
