"""Stored secrets (``/ui/secrets``): the mounts, a tree of their paths, and a
secret's versions, settings and consumers, through the service calls the
``/v1/secret-mounts`` and ``/v1/secrets/{mount}/...`` routes make.

A value is never on a GET page: "Reveal value" POSTs (CSRF-checked) to
``.../reveal/{path}``, which reads it with ``secrets.get`` (the HTTP API's read:
it writes a ``secret.read`` audit entry per call and records the consumer) and
shows it in that answer only (``no-store``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from keystead.core.secrets import SecretMetadata
from keystead.errors import Forbidden, NotFound, ValidationError
from keystead.web.routing import WebRequest, action, page

PAGE_SIZE = 100
"""Names shown per page of a folder (a level is listed whole, then sliced)."""
VERSION_ACTIONS = ("delete", "undelete", "destroy")


def secret_url(mount: str, path: str, what: str = "secret") -> str:
    """``/ui/secrets/<mount>/<what>/<path>`` with each segment percent-encoded."""
    return f"/ui/secrets/{quote(mount, safe='')}/{what}/{quote(path, safe='/')}"


def _offset(req: WebRequest) -> int:
    raw = req.query("cursor") or "0"
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationError("cursor is a whole number", field="cursor")
    return int(raw)


def _grant_link(scope: str) -> str | None:
    """Where a path-scoped grant's scope (``secret/app/*``, ``secret/app/db``) is
    browsed; None for a pattern with other wildcards."""
    folder = scope.endswith("/*")
    body = scope[:-2] if folder else scope
    if not body or any(c in body for c in "*+?[]{}"):
        return None
    mount, _, path = body.partition("/")
    if not path:
        return f"/ui/secrets/{quote(mount, safe='')}" if folder else None
    return secret_url(mount, path + "/", "browse") if folder else secret_url(mount, path)


def _grants(req: WebRequest) -> list[dict[str, Any]]:
    """The principal's path-scoped secret grants, for a key that cannot list mounts."""
    rows = []
    for grant in sorted(req.principal.grants.grants):
        name, sep, scope = grant.partition(":")
        if name.startswith("secrets.") and sep:
            rows.append({"grant": grant, "action": name, "scope": scope, "url": _grant_link(scope)})
    return rows


@page("/ui/secrets")
async def mounts(req: WebRequest) -> Response:
    """The mounts; a root key that may list none but holds path-scoped grants
    sees those grants instead (the nav shows it Secrets for them)."""
    try:
        found = await req.ks.secrets.list_mounts(req.principal)
    except Forbidden:
        grants = _grants(req)
        if not grants or req.principal.narrowed:
            raise
        return req.render("ui/secrets/mounts.html", mounts=None, grants=grants)
    return req.render("ui/secrets/mounts.html", mounts=found, grants=_grants(req))


async def _folder(req: WebRequest, mount: str, folder: str) -> Response:
    names = await req.ks.secrets.list(req.principal, mount, folder)
    start = _offset(req)
    shown = names[start : start + PAGE_SIZE]
    next_cursor = str(start + PAGE_SIZE) if start + PAGE_SIZE < len(names) else None
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    rows = [
        {
            "name": name,
            "folder": name.endswith("/"),
            "url": secret_url(mount, prefix + name, "browse" if name.endswith("/") else "secret"),
        }
        for name in shown
    ]
    return req.render(
        "ui/secrets/folder.html",
        mount=mount,
        folder=prefix,
        crumbs=_crumbs(mount, prefix),
        rows=rows,
        total=len(names),
        next_cursor=next_cursor,
    )


def _crumbs(mount: str, path: str) -> list[tuple[str, str]]:
    """(label, url) from the mount down to ``path``'s parent folders."""
    crumbs = [(mount, f"/ui/secrets/{quote(mount, safe='')}")]
    parts = [p for p in path.split("/") if p]
    for i in range(len(parts) - 1 if not path.endswith("/") else len(parts)):
        crumbs.append((parts[i], secret_url(mount, "/".join(parts[: i + 1]) + "/", "browse")))
    return crumbs


@page("/ui/secrets/{mount}")
async def mount_top(req: WebRequest) -> Response:
    return await _folder(req, req.path("mount"), "")


@page("/ui/secrets/{mount}/browse/{folder:path}")
async def folder(req: WebRequest) -> Response:
    return await _folder(req, req.path("mount"), req.path("folder"))


def _versions(secret: SecretMetadata, now: datetime) -> list[dict[str, Any]]:
    return [
        {"info": v, "state": v.state(now)}
        for v in sorted(secret.versions, key=lambda v: -v.version)
    ]


async def _detail(req: WebRequest, mount: str, path: str, **extra: Any) -> Response:
    """The secret's page; ``extra`` may carry a revealed value (a POST answer only)."""
    secrets = req.ks.secrets
    secret = await secrets.read_metadata(req.principal, mount, path)
    consumers, rotation = None, None
    try:  # consumers and the rotation policy take secrets.admin on the path
        consumers = await req.ks.secret_consumers.consumers(req.principal, mount, path, None)
        rotation = await req.ks.secret_rotation.read(req.principal, mount, path)
    except Forbidden:
        consumers, rotation = None, None
    now = datetime.fromtimestamp(req.ks.clock.now(), UTC)
    return req.render(
        "ui/secrets/secret.html",
        secret=secret,
        versions=_versions(secret, now),
        consumers=None if consumers is None else consumers.items,
        rotation=rotation,
        crumbs=_crumbs(secret.mount, secret.path),
        reveal_url=secret_url(secret.mount, secret.path, "reveal"),
        versions_url=secret_url(secret.mount, secret.path, "versions"),
        **extra,
    )


@page("/ui/secrets/{mount}/secret/{path:path}")
async def secret(req: WebRequest) -> Response:
    return await _detail(req, req.path("mount"), req.path("path"))


def _version_field(raw: object, *, required: bool) -> int | None:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        if required:
            raise ValidationError("choose a version", field="version")
        return None
    if not text.isdigit() or len(text) > 9:
        raise ValidationError("version is a whole number", field="version")
    return int(text)


@action("/ui/secrets/{mount}/reveal/{path:path}")
async def reveal(req: WebRequest) -> Response:
    """The value of the current version (or ``version``), in this answer only:
    ``secrets.get`` audits the read before it is handed out."""
    mount, path = req.path("mount"), req.path("path")
    form = await req.form()
    version = _version_field(form.get("version"), required=False)
    read = await req.ks.secrets.get(req.principal, mount, path, version)
    fields = sorted(read.data.items())
    return await _detail(req, mount, path, revealed=fields, revealed_version=read.version.version)


@action("/ui/secrets/{mount}/versions/{path:path}")
async def change_versions(req: WebRequest) -> Response:
    """Delete, undelete or destroy one version (``secrets.delete``/``destroy``)."""
    mount, path = req.path("mount"), req.path("path")
    form = await req.form()
    op = form.get("op")
    if op not in VERSION_ACTIONS:
        raise ValidationError("op is delete, undelete or destroy", field="op")
    number = _version_field(form.get("version"), required=True)
    assert number is not None  # noqa: S101 - required above
    secrets = req.ks.secrets
    if op == "delete":
        secret = await secrets.delete(req.principal, mount, path, [number])
    elif op == "undelete":
        secret = await secrets.undelete(req.principal, mount, path, [number])
    else:
        secret = await secrets.destroy(req.principal, mount, path, [number])
    if secret is None:  # pragma: no cover - the service answers the metadata
        raise NotFound("no such secret")
    return req.redirect(secret_url(secret.mount, secret.path))


__all__ = ["secret_url"]
