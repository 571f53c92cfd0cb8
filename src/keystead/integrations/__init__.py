"""Protect an application with Keystead API keys: ASGI (Starlette, FastAPI), WSGI
(Flask) and Django adapters over the shared, framework-free pieces here.

Framework modules are imported on demand (``keystead.integrations.asgi``,
``.fastapi``, ``.starlette``, ``.wsgi``, ``.flask``, ``.django``, ``.drf``), so
importing this package never needs a web framework.
"""
