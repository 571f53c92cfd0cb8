"""Files under ``/ui/static/`` from the package's ``static/`` folder.

Vendored files (``vendor/``) and any file asked for with its current content
hash (``?v=``, as ``templating.static_url`` writes it) are ``immutable`` for a
year; others are cached five minutes. Only known file types are served.
"""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from keystead.web.security import secure_headers
from keystead.web.templating import STATIC, STATIC_PREFIX, static_hash

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


@functools.cache
def _read(name: str) -> bytes | None:
    root = STATIC.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix not in TYPES:
        return None
    return path.read_bytes()


def serve_static(request: Request, path: str) -> Response:
    name = path[len(STATIC_PREFIX) :]
    if request.method not in ("GET", "HEAD"):
        return secure_headers(Response("method not allowed", status_code=405), cache=True)
    body = None if not name or ".." in name.split("/") else _read(name)
    if body is None:
        return secure_headers(Response("not found", status_code=404, media_type="text/plain"))
    digest = static_hash(name)
    etag = f'"{digest}"'
    versioned = name.startswith("vendor/") or request.query_params.get("v") == digest
    headers = {"cache-control": IMMUTABLE if versioned else SHORT, "etag": etag}
    if request.headers.get("if-none-match") == etag:
        return secure_headers(Response(status_code=304, headers=headers), cache=True)
    media = TYPES[Path(name).suffix]
    response = Response(body, media_type=media, headers=headers)
    return secure_headers(response, cache=True)
