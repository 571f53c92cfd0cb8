"""The HTTP API: ``create_app()`` builds the FastAPI application (docs/api.md)."""

from keystead.http.app import create_app

__all__ = ["create_app"]
