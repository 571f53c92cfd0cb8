"""The Vault face: HashiCorp Vault's HTTP API (KV version 2, ``sys``, token auth)
over ``ks.secrets``, served under ``/vault`` (docs/secrets.md, "Vault
compatibility"): ``hvac.Client(url="http://host:port/vault", token=<root key>)``.

A lean ASGI app, not FastAPI routes: Vault's ``LIST`` method, its mount names as
the first path segment and its ``{"errors": [...]}`` bodies do not fit a router,
and a secret read must be fast. ``KeysteadAPI._serve`` sends every path under
``PREFIX`` here, before the FastAPI stack (like the verify fast path), wrapped in
the body limit and the last-resort 500, both answering Vault-style.

A call goes: path and method parsed (``GET ?list=true`` is ``LIST``) ->
``X-Vault-Token`` authenticated as a root key, exactly as ``Authorization:
Bearer`` is (a missing or bad token is Vault's 403 ``permission denied``;
``X-Vault-Namespace`` is ignored) -> the body read and parsed as a JSON object ->
``sys/...`` to ``vault.sys``, ``auth/token/...`` to ``vault.token``, any other
first segment is a mount of the caller's workspace, dispatched on its kind.

Extension point: engines by mount kind
--------------------------------------
``MOUNT_HANDLERS`` maps a mount's kind (``SecretMount.kind``, e.g. ``"kv-v2"``)
to a ``MountHandler``::

    async def handle(request: VaultRequest, mount: SecretMount, rest: str) -> VaultResponse

``rest`` is the path below the mount (``data/myapp``, ``keys/orders``; no slash
at either end, but a trailing ``/`` of a ``LIST`` is kept), ``request`` carries
the method (upper case, ``LIST`` included), the query, the parsed JSON body, the
authenticated principal, the service and the request id. A handler answers a
``VaultResponse`` (wrapped in the envelope with the request id) or raises
``VaultError(status, messages)``; a ``KeysteadError`` escaping it is translated
by ``vault_error`` (403 for Forbidden, 400 for validation, ...). ``mount`` is the
mount as resolved (its kind is authoritative; read its settings through the
service, which checks the caller's permission). ``MOUNT_ROUTES`` lists each
kind's ``(method, template)`` routes: the auth-matrix test walks every one, so
an engine registers both. ``sys/mounts`` maps Vault's types to kinds with
``vault.sys.VAULT_TYPES`` (``transit`` included; the service decides whether a
kind exists).
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Receive, Scope, Send

from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.secret_paths import MOUNT_PATTERN, RESERVED_MOUNTS
from keystead.core.secrets import KV_V2, TRANSIT, SecretMount
from keystead.errors import (
    Conflict,
    Forbidden,
    IntegrityError,
    KeysteadError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationError,
)
from keystead.events.audit import AuditOrigin, set_origin
from keystead.http.middleware import BodyTooLarge
from keystead.http.vault import kv, sys, token, transit
from keystead.http.vault.wire import (
    JSON_TYPE,
    PERMISSION_DENIED,
    VaultError,
    VaultRequest,
    VaultResponse,
    bad_request,
    envelope,
    error_body,
    new_request_id,
)
from keystead.service import Keystead

log = logging.getLogger("keystead.http")

PREFIX = "/vault"
DEFAULT_MAX_BODY = 1_048_576
"""As ``KEYSTEAD_MAX_BODY_BYTES``; the app passes its setting."""
MountHandler = Callable[[VaultRequest, SecretMount, str], Awaitable[VaultResponse]]
Route = tuple[str, str]

MOUNT_HANDLERS: dict[str, MountHandler] = {KV_V2: kv.handle, TRANSIT: transit.handle}
MOUNT_ROUTES: dict[str, tuple[Route, ...]] = {KV_V2: kv.ROUTES, TRANSIT: transit.ROUTES}
"""Per kind, its routes as ``(method, "{mount}/template")`` for the route walk."""

INTERNAL_ERROR = "internal error"
NO_WRAPPING = "response wrapping (X-Vault-Wrap-TTL) is not supported by Keystead"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "LIST"})
_MAX_QUERY = 4096
_BODILESS = frozenset({"GET", "HEAD", "LIST"})
"""Methods whose body, if any, is read (and bounded) but not used."""
_MOUNT_CACHE_SIZE = 4096
_seen_mounts: weakref.WeakKeyDictionary[Keystead, dict[tuple[str, str], SecretMount]] = (
    weakref.WeakKeyDictionary()
)
"""Per service, the mounts found, by (workspace, name): a mount is never disabled and
its kind never changes, so a found one is remembered for dispatch (its settings are
read through the service on every call that needs them)."""


def routes() -> list[Route]:
    """Every route of the Vault face, ``(method, template)``: sys, auth and each
    registered mount kind's (``{mount}`` stands for its name)."""
    found = [*sys.ROUTES, *token.ROUTES]
    for kind_routes in MOUNT_ROUTES.values():
        found.extend(kind_routes)
    return found


async def vault_asgi(
    scope: Scope, receive: Receive, send: Send, *, max_body_bytes: int = DEFAULT_MAX_BODY
) -> None:
    """The ASGI entry (``scope["app"]`` is the ``KeysteadAPI``, whose
    ``state.keystead`` is the service). It bounds the body itself (by
    ``Content-Length`` up front, then by the bytes received) and answers every
    error Vault-style, so no middleware wraps it (``functools.partial`` sets the
    bound)."""
    try:
        status, body = await _answer(scope, receive, max_body_bytes)
    except VaultError as exc:
        status, body = exc.status, _error_answer(exc, "")
    except KeysteadError as exc:  # authenticating: the store unavailable, ...
        error = vault_error(exc)
        status, body = error.status, _error_answer(error, "")
    except BodyTooLarge as exc:
        status, body = 413, error_body([str(exc.detail)])
    except Exception:
        log.exception(
            "unhandled error answering %s %s",
            scope.get("method"),
            keyformat.redact_keys(scope.get("path", "")),
        )
        status, body = 500, error_body([INTERNAL_ERROR])
    headers = [(b"cache-control", b"no-store")]
    if status != 204:
        headers += [JSON_TYPE, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if status == 204 else body})


def _error_answer(exc: VaultError, request_id: str) -> bytes:
    if exc.data is None:
        return error_body(exc.messages)
    return orjson.dumps(envelope(request_id, exc.data))


async def _answer(scope: Scope, receive: Receive, max_body_bytes: int) -> tuple[int, bytes]:
    path: str = scope["path"]
    root = scope.get("root_path")
    if root and path.startswith(root):
        path = path[len(root) :]
    if not path.startswith(PREFIX + "/v1/"):
        raise VaultError(404, ["unsupported path"])
    rest = path[len(PREFIX) + 4 :]
    method = scope["method"].upper()
    if method not in _METHODS:
        raise VaultError(405, ["unsupported operation"])
    query = _query(scope.get("query_string", b""))
    if method == "GET" and query.get("list", "").lower() in ("true", "1"):
        method = "LIST"
    token_value = content_type = user_agent = None
    sends_body = False
    for name, value in scope["headers"]:
        if name == b"x-vault-token":
            token_value = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"user-agent":
            user_agent = value.decode("latin-1")
        elif name == b"x-vault-wrap-ttl":
            raise bad_request(NO_WRAPPING)
        elif name == b"content-length":
            if not value.isdigit():
                raise bad_request("the Content-Length header is not a number")
            if int(value) > max_body_bytes:
                raise BodyTooLarge(max_body_bytes)
            sends_body = value != b"0"
        elif name == b"transfer-encoding":
            sends_body = True
    ks: Keystead | None = getattr(scope["app"].state, "keystead", None)
    if ks is None:
        raise VaultError(503, ["Vault is sealed"])
    if rest.startswith("sys/") and rest[4:].rstrip("/") in sys.UNAUTHENTICATED:
        return _respond(sys.unauthenticated(ks, rest[4:].rstrip("/"), method, query), "")
    principal = await _principal(ks, token_value)
    request_id = new_request_id()  # a UUID, as Vault's; also the audit entries'
    client = scope.get("client")
    set_origin(
        AuditOrigin(
            ip=client[0] if client else None,
            user_agent=None if user_agent is None else user_agent[:512],
            request_id=request_id,
        )
    )
    if sends_body or method not in _BODILESS:
        body = await _body(receive, method, max_body_bytes)
    else:
        body = {}  # a read sends none: nothing to wait for
    request = VaultRequest(method, "", query, body, principal, ks, request_id, content_type or "")
    head, _, below = rest.partition("/")
    try:
        if head == "sys":
            request.rest = below
            answer = await sys.handle(request)
        elif head == "auth":
            request.rest = below
            answer = await token.handle(request)
        else:
            mount = _seen_mount(ks, principal, head) or await _mount(ks, principal, head)
            handler = MOUNT_HANDLERS.get(mount.kind)
            if handler is None:
                raise VaultError(404, [f"no handler for route '{head}'"])
            request.rest = below
            answer = await handler(request, mount, below)
    except KeysteadError as exc:
        error = vault_error(exc)
        return error.status, _error_answer(error, request_id)
    except VaultError as exc:
        return exc.status, _error_answer(exc, request_id)
    return _respond(answer, request_id)


def _respond(answer: VaultResponse, request_id: str) -> tuple[int, bytes]:
    if answer.status == 204:
        return 204, b""
    if answer.raw is not None:
        return answer.status, orjson.dumps(answer.raw)
    out = envelope(
        request_id,
        answer.data,
        mount_type=answer.mount_type,
        warnings=answer.warnings,
        auth=answer.auth,
    )
    return answer.status, orjson.dumps(out)


def _query(raw: bytes) -> dict[str, str]:
    if not raw:
        return {}
    if len(raw) > _MAX_QUERY:
        raise bad_request("the query string is too long")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("the query string is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))


async def _principal(ks: Keystead, value: str | None) -> Principal:
    """The root key in ``X-Vault-Token`` (the only credential of the Vault face)."""
    if not value:
        raise VaultError(403, [PERMISSION_DENIED])
    try:
        return await ks.root_keys.authenticate(value.strip())
    except Unauthorized:
        raise VaultError(403, [PERMISSION_DENIED]) from None


async def _body(receive: Receive, method: str, max_body_bytes: int) -> dict[str, Any]:
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise VaultError(400, ["the client went away"])
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > max_body_bytes:
            raise BodyTooLarge(max_body_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    if not raw.strip() or method in _BODILESS:
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("failed to parse JSON input: the body is not JSON") from None
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise bad_request("failed to parse JSON input: the body is not a JSON object")
    return parsed


def _seen_mount(ks: Keystead, principal: Principal, name: str) -> SecretMount | None:
    """The mount from memory, without a call (None: ask ``_mount``)."""
    seen = _seen_mounts.get(ks)
    return None if seen is None else seen.get((principal.workspace_id, name))


async def _mount(ks: Keystead, principal: Principal, name: str) -> SecretMount:
    seen = _seen_mounts.get(ks)
    if seen is None:
        seen = _seen_mounts.setdefault(ks, {})
    key = (principal.workspace_id, name)
    found = seen.get(key)
    if found is not None:
        return found
    if name in RESERVED_MOUNTS or not _valid_mount(name):
        raise VaultError(404, [f"no handler for route '{name}'. route entry not found."])
    try:
        found = await ks.secrets.mounts.find(principal.workspace_id, name)
    except NotFound:
        raise VaultError(404, [f"no handler for route '{name}'. route entry not found."]) from None
    if len(seen) >= _MOUNT_CACHE_SIZE:
        seen.clear()
    seen[key] = found
    return found


_MOUNT_RE = re.compile(MOUNT_PATTERN)


def _valid_mount(name: str) -> bool:
    return _MOUNT_RE.fullmatch(name) is not None


def vault_error(exc: KeysteadError) -> VaultError:
    """A service error as Vault answers it."""
    if isinstance(exc, (Forbidden, Unauthorized)):
        return VaultError(403, [PERMISSION_DENIED])
    if isinstance(exc, NotFound):
        return VaultError(404, [exc.detail])
    if isinstance(exc, PayloadTooLarge):
        return VaultError(413, [exc.detail])
    if isinstance(exc, ValidationError):
        where = f"{exc.field}: " if exc.field and not exc.detail.startswith(exc.field) else ""
        return VaultError(400, [where + exc.detail])
    if isinstance(exc, IntegrityError):
        return VaultError(409, [exc.detail])
    if isinstance(exc, Conflict):
        return VaultError(400, [exc.detail])
    if exc.status < 500:
        return VaultError(exc.status, [exc.public_detail or exc.detail])
    return VaultError(503, [exc.public_detail or "the service is unavailable; retry"])


__all__ = [
    "MOUNT_HANDLERS",
    "MOUNT_ROUTES",
    "PREFIX",
    "MountHandler",
    "Route",
    "routes",
    "vault_asgi",
    "vault_error",
]
