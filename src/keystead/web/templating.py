"""The Jinja2 environment: every template autoescaped, static URLs versioned."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import jinja2

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "/ui/static/"
_csrf: ContextVar[str] = ContextVar("keystead_web_csrf", default="")
"""The CSRF token of the page being rendered: ``macros.html`` is imported
without context, so ``csrf_field()`` reads it through the ``csrf_token`` global."""


@functools.cache
def static_hash(name: str) -> str:
    """The first 12 hex digits of a static file's sha256 ("" when absent)."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """``/ui/static/<name>?v=<content hash>``: served ``immutable`` when it matches."""
    return f"{STATIC_PREFIX}{name}?v={static_hash(name)}"


def iso_time(value: Any) -> str:
    """An epoch (seconds) or datetime as UTC ISO 8601 with ``Z``; "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return str(value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(value)


def human_time(value: Any) -> str:
    """``2026-12-06 04:05 UTC``: what a ``<time>`` element shows."""
    stamp = iso_time(value)
    return f"{stamp[:10]} {stamp[11:16]} UTC" if len(stamp) >= 16 else stamp


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["static_url"] = static_url
    env.globals["csrf_token"] = _csrf.get
    env.filters["iso_time"] = iso_time
    env.filters["human_time"] = human_time
    return env


def render(template: str, context: dict[str, Any]) -> str:
    """Render ``template``; its ``csrf`` (if any) is what ``csrf_field()`` writes."""
    token = _csrf.set(str(context.get("csrf") or ""))
    try:
        return environment().get_template(template).render(context)
    finally:
        _csrf.reset(token)
