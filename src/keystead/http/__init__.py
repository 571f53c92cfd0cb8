"""The HTTP API: ``create_app()`` builds the FastAPI application (docs/api.md);
``ratelimit_headers`` and ``problem_for`` turn a verdict into an HTTP answer."""

from keystead.core.answers import problem_for, ratelimit_headers
from keystead.http.app import create_app

__all__ = ["create_app", "problem_for", "ratelimit_headers"]
