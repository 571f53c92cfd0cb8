"""What the OpenAPI document says about errors: every 4xx/5xx is a ``Problem``
served as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from keystead.http.problems import PROBLEM_JSON


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="where: 'body', 'query' or 'path', then names")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="the offending field, when known")
    position: int | None = Field(
        default=None, description="0-based offset of the error in a permission query"
    )
    errors: list[ValidationIssue] | None = Field(
        default=None, description="422 only: every failing location"
    )


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


_ALL: dict[int | str, dict[str, Any]] = {
    400: _problem("Malformed JSON, or a permission query that does not parse"),
    401: _problem("No root key, or not a valid one (with WWW-Authenticate: Bearer)"),
    403: _problem("The root key lacks the permission this route needs"),
    404: _problem("No such object in this workspace (or outside the root key's APIs)"),
    409: _problem("Conflicts with the current state (duplicate name, revoked key ...)"),
    413: _problem("Request body larger than the configured limit"),
    415: _problem("Request body not sent as JSON"),
    422: _problem("Invalid field values; 'errors' lists every failing location"),
    429: _problem("A rate limit or usage limit of the API key is reached (with Retry-After)"),
    500: _problem("Unexpected server error (details are in the server log only)"),
    503: _problem("The store is unavailable"),
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem answers for these statuses."""
    return {status: _ALL[status] for status in statuses}


COMMON = errors(401, 403, 422, 500, 503)
"""Every management route: authentication, permission, validation, server."""
WITH_BODY = errors(400, 413, 415)
FOUND = errors(404)
CONFLICT = errors(409)


def use_problem_media_type(schema: dict[str, Any]) -> dict[str, Any]:
    """Serve every documented error as application/problem+json (idempotent), but
    under ``/oauth``, whose errors are RFC 6749's JSON."""
    for path, path_item in schema.get("paths", {}).items():
        if path.startswith("/oauth/"):
            continue
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if str(status)[0] in "45" and content and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return schema


__all__ = [
    "COMMON",
    "CONFLICT",
    "FOUND",
    "WITH_BODY",
    "Problem",
    "ValidationIssue",
    "errors",
    "use_problem_media_type",
]
