"""Keystead's variant (c) of bench/peers_http.py: the seeds' Flask endpoint
protected by Keystead's Flask extension, the "after" of docs/integrations.md
(embedded: the store, limiter and usage recorder of ``KEYSTEAD_*``, opened in
each worker on its first request). The answer is the seeds' body.

Runs on the project's interpreter (.venv) under gunicorn, which .venv does not
hold: bench/peers_http.py puts the gunicorn of bench/.peers/gunicorn at the end
of ``sys.path``.
"""

from __future__ import annotations

from flask import Flask

from keystead.integrations.flask import Keystead, require_key

app = Flask(__name__)
Keystead(app)


@app.get("/api/data")
@require_key("data.read")
def data() -> dict[str, list[int]]:
    return {"data": [1, 2, 3]}
