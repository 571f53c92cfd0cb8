"""The peer (a) of bench/peers_http.py: the seeds' Flask example, the "before"
of docs/integrations.md, as it is: the key is whatever ``X-API-Key`` holds, and
a Redis counter per key and second (``INCR`` + ``EXPIRE``) limits it.

Runs in its own virtualenv (bench/.peers/flask-redis: flask, gunicorn, redis),
never the project's:

    bench/.peers/flask-redis/bin/python -m gunicorn --pythonpath bench seed_flask_app:app

``SEED_REDIS_URL`` names the Redis (default redis://127.0.0.1:6379/0);
``SEED_LIMIT`` the requests per key and second (default 10, the example's; the
bench raises it so that no request is refused, as Keystead's key is never).
"""

from __future__ import annotations

import os
import time

from flask import Flask, request
from redis import Redis

app = Flask(__name__)
redis = Redis.from_url(os.environ.get("SEED_REDIS_URL", "redis://127.0.0.1:6379/0"))
LIMIT = int(os.environ.get("SEED_LIMIT", "10"))


@app.get("/api/data")
def data() -> tuple[dict[str, str], int] | dict[str, list[int]]:
    key = request.headers.get("X-API-Key")
    if not key:
        return {"error": "missing key"}, 401
    window = f"{key}:{int(time.time())}"
    count = redis.incr(window)
    redis.expire(window, 1)
    if count > LIMIT:
        return {"error": "rate limited"}, 429
    return {"data": [1, 2, 3]}
