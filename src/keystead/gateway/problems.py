"""The gateway's own answers (no route, bad path, body too large, upstream down or
slow) as RFC 9457 ``application/problem+json``, and sending any prepared answer."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formatdate

import orjson
from starlette.types import Send

from keystead.core.answers import status_phrase
from keystead.integrations.refusal import Answer, Headers


def problem(status: int, detail: str) -> Answer:
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": status_phrase(status),
            "status": status,
            "detail": detail,
        }
    )
    headers: Headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", b"no-store"),
    ]
    return status, headers, body


NO_ROUTE = problem(404, "no route of this gateway matches the request")
BAD_PATH = problem(400, "the request path must be absolute, without . or .. segments")
SLOW_BODY = problem(408, "the request body did not arrive in time")


def too_large(limit: int) -> Answer:
    return problem(413, f"the request body is larger than this route accepts ({limit} bytes)")


async def respond(send: Send, answer: Answer, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Send a whole prepared answer (the gateway's, or a refusal), with a ``Date``."""
    status, headers, body = answer
    date = (b"date", formatdate(usegmt=True).encode("ascii"))
    await send(
        {"type": "http.response.start", "status": status, "headers": [*headers, *extra, date]}
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


__all__ = ["BAD_PATH", "NO_ROUTE", "SLOW_BODY", "problem", "respond", "too_large"]
