"""The browser face: the dashboard (``/ui``) and the owners' portal (``/portal``).

Server-rendered Jinja2 pages over ``keystead.service.Keystead`` with the
session's ``Principal``, exactly as the HTTP API calls it (docs/dashboard.md).
``app.web_asgi`` is the entry; ``routing`` holds the page contract.
"""
