"""A FastAPI app protected by Keystead's ASGI middleware (embedded mode): every
route needs a key except ``/health``; ``/documents`` also needs the
``documents.read`` permission.

Run: ``python app.py`` with KEYSTEAD_DATABASE_URL and KEYSTEAD_SECRET set.
"""

from __future__ import annotations

import os
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI

from keystead.integrations.embedded import Embedded
from keystead.integrations.fastapi import Identity, KeysteadMiddleware, require_key
from keystead.integrations.rules import public

app = FastAPI()
app.add_middleware(KeysteadMiddleware, guard=Embedded(), rules=[public("/health")])


@app.get("/documents")
async def documents(
    key: Annotated[Identity, Depends(require_key("documents.read"))],
) -> dict[str, object]:
    return {"documents": ["a", "b"], "owner": key.owner_id, "plan": key.plan}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
