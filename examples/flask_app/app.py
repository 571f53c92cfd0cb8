"""The seeds' Flask API, protected by Keystead: keys are checked against the
store, and the rate limit set on each key is enforced exactly (no burst when
requests share a second, no key that was never issued).

Run: ``python app.py`` with KEYSTEAD_DATABASE_URL and KEYSTEAD_SECRET set.
"""

from __future__ import annotations

import os

from flask import Flask, g

from keystead.integrations.flask import Keystead, require_key

app = Flask(__name__)
Keystead(app)  # embedded: the store, limiter and usage recorder of KEYSTEAD_*


@app.get("/api/data")
@require_key("data.read")
def data() -> dict[str, object]:
    return {"data": [1, 2, 3], "owner": g.keystead.owner_id}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)
