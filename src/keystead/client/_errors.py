"""Errors the client raises: one for answers the server refused, one for no answer.

No message or repr ever holds a key or the root key: they name the server's
URL, the status and the server's problem document (which never echoes a key).
"""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """Base of every error the Keystead client raises."""


class ApiError(ClientError):
    """The server answered with an error (application/problem+json).

    ``body`` is the decoded problem document (or ``None`` when the answer was not
    JSON); extra members such as ``field`` live there.
    """

    def __init__(
        self, status: int, title: str, detail: str | None, body: dict[str, Any] | None
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, title={self.title!r}, detail={self.detail!r})"


class ConnectionFailed(ClientError):
    """The server could not be reached, or did not answer in time."""


class Timeout(ConnectionFailed):
    """The server did not answer in time (connecting, or reading its answer)."""


def connection_failed(base_url: str, exc: Exception) -> ConnectionFailed:
    """The error for a request that got no answer, after any retries."""
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(f"{base_url} did not answer in time")
    return ConnectionFailed(f"cannot reach {base_url} ({type(exc).__name__})")


def problem_from(response: httpx.Response) -> ApiError:
    """The error of an answer, from its problem+json body when it has one."""
    body: dict[str, Any] | None = None
    try:
        decoded = response.json()
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        body = decoded
    title = response.reason_phrase or "Error"
    detail: str | None = None
    if body is not None:
        if isinstance(body.get("title"), str):
            title = body["title"]
        elif isinstance(body.get("error"), str):  # OAuth 2.0 (RFC 6749 section 5.2)
            title = body["error"]
        if isinstance(body.get("detail"), str):
            detail = body["detail"]
        elif isinstance(body.get("error_description"), str):
            detail = body["error_description"]
    return ApiError(response.status_code, title, detail, body)


def invalid_answer(detail: str, status: int = 200) -> ApiError:
    """A success whose body is not what the API promises."""
    return ApiError(status, "Invalid response", detail, None)


__all__ = [
    "ApiError",
    "ClientError",
    "ConnectionFailed",
    "Timeout",
    "connection_failed",
    "invalid_answer",
    "problem_from",
]
