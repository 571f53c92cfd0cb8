"""Headers, cookies and CSRF tokens of the browser face."""

from __future__ import annotations

import hmac
import secrets
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

from keystead.config import Settings

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
)
SESSION_COOKIE = {"ui": "ks_session", "portal": "ks_portal"}
PRE_SESSION_COOKIE = "ks_csrf"
"""Double-submit token of the forms shown before a session exists (sign-in, portal enter)."""
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
R = TypeVar("R", bound=Response)


def secure_headers(response: R, *, cache: bool = False) -> R:
    """Set the design's security headers; pages (``cache`` False) are ``no-store``."""
    for name, value in SECURITY_HEADERS:
        response.headers[name] = value
    if not cache:
        response.headers["cache-control"] = "no-store"
    return response


def is_secure(request: Request, settings: Settings) -> bool:
    """Cookies get ``Secure`` over https or when the public URL is https."""
    public = settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def set_cookie(
    response: Response, name: str, value: str, *, secure: bool, max_age: int | None = None
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="strict"
    )


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")


def new_pre_session_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing or empty side never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def safe_next(target: str | None, *, default: str = "/ui/") -> str:
    """``target`` when it is a same-site path under ``/ui`` (no scheme, no host,
    no ``//`` or backslash tricks), else ``default``: no open redirect."""
    if not target or len(target) > 2048:
        return default
    if not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    rest = target[3:]
    if rest and rest[0] not in "/?#":
        return default
    return target
