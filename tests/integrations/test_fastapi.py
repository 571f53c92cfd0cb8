"""FastAPI: ``Depends(require_key(...))`` behind ``KeysteadMiddleware`` and on its
own after ``install``, over real HTTP."""

from __future__ import annotations

from keystead.core.authz import Principal
from keystead.integrations.embedded import Embedded
from keystead.integrations.fastapi import KeysteadMiddleware, install
from keystead.integrations.rules import public
from keystead.service import Keystead

from .apps import documents_app
from .kit import assert_refused, issue, same_answer, serve_asgi, usage_of


async def test_dependency_behind_the_middleware(keystead: Keystead, admin: Principal) -> None:
    reader = await issue(keystead, admin, permissions=["documents.read"])
    other = await issue(keystead, admin, permissions=["billing.read"])
    app = documents_app()
    app.add_middleware(
        KeysteadMiddleware, guard=Embedded(keystead), public=True, rules=[public("/health")]
    )
    async with serve_asgi(app) as client:
        served = await client.get("/documents", headers={"X-API-Key": reader.plaintext})
        forbidden = await client.get("/documents", headers={"X-API-Key": other.plaintext})
        anyone = await client.get("/anyone", headers={"X-API-Key": other.plaintext})
        missing = await client.get("/documents")
        health = await client.get("/health")
    assert served.status_code == 200, served.text
    assert served.json() == {
        "key_id": reader.key_id,
        "state": reader.key_id,
        "authorization": None,
    }
    assert assert_refused(forbidden, 403)["code"] == "INSUFFICIENT_PERMISSIONS"
    assert anyone.json() == {"key_id": other.key_id, "permissions": ["billing.read"]}
    assert_refused(missing, 401)
    assert health.json() == {"status": "ok"}
    records = await usage_of(keystead, admin, reader.key_id)
    assert [(r.code, r.status, r.path) for r in records] == [("VALID", 200, "/documents")]
    assert records[0].bytes_out == len(served.content)
    refused = await usage_of(keystead, admin, other.key_id)
    assert sorted((r.code, r.status) for r in refused) == [
        ("INSUFFICIENT_PERMISSIONS", 403),
        ("VALID", 200),
    ]


async def test_dependency_on_its_own(keystead: Keystead, admin: Principal) -> None:
    reader = await issue(keystead, admin, permissions=["documents.read"])
    revoked = await issue(keystead, admin, permissions=["documents.read"])
    await keystead.keys.revoke(admin, revoked.key_id)
    app = documents_app()
    install(app, Embedded(keystead))
    async with serve_asgi(app) as client:
        served = await client.get(
            "/documents", headers={"Authorization": f"Bearer {reader.plaintext}"}
        )
        unknown = await client.get("/documents", headers={"X-API-Key": reader.plaintext + "0"})
        gone = await client.get("/documents", headers={"X-API-Key": revoked.plaintext})
        missing = await client.get("/anyone")
        health = await client.get("/health")
    assert served.status_code == 200, served.text
    assert served.json()["key_id"] == reader.key_id
    assert_refused(unknown, 401)
    same_answer(unknown, gone)
    assert_refused(missing, 401)
    assert health.status_code == 200
    records = await usage_of(keystead, admin, reader.key_id)
    assert [(r.code, r.path, r.status) for r in records] == [("VALID", "/documents", 200)]
    assert records[0].response_ms is not None
    refused = await usage_of(keystead, admin, revoked.key_id)
    assert [(r.code, r.status) for r in refused] == [("REVOKED", 401)]


async def test_without_setup_the_dependency_says_what_is_missing(keystead: Keystead) -> None:
    app = documents_app()
    async with serve_asgi(app) as client:
        answer = await client.get("/anyone", headers={"X-API-Key": "docs_x"})
    assert answer.status_code == 500  # a programming error, reported in the server log
