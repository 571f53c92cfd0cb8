"""Flask: ``Keystead(app)`` + ``@require_key`` in embedded mode, served by
werkzeug's threaded server on loopback."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from flask import Flask, g, request

from keystead.config import Settings
from keystead.core.models import VerifyContext
from keystead.integrations.credentials import KeySources
from keystead.integrations.embedded import SyncEmbedded
from keystead.integrations.flask import Keystead, current_identity, require_key
from keystead.integrations.guard import InFlight, Served
from keystead.sync import SyncKeystead

from .kit import assert_refused, issue_sync, same_answer, serve_wsgi, until_status, usage_of_sync


class Gate:
    """Holds ``/hold`` requests until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()


def make_app(ks: SyncKeystead, gate: Gate | None = None, **options: Any) -> Flask:
    app = Flask(__name__)
    Keystead(app, SyncEmbedded(ks), **options)

    @app.route("/api/data", methods=["GET", "POST"])
    @require_key("data.read")
    def data() -> dict[str, Any]:
        identity = current_identity()
        assert identity is not None and identity is g.keystead
        return {
            "key_id": g.keystead.key_id,
            "owner_id": g.keystead.owner_id,
            "headers": dict(request.headers),
            "query": request.query_string.decode(),
            "body": len(request.get_data()),
        }

    @app.get("/hold")
    @require_key()
    def hold() -> dict[str, bool]:
        if gate is not None:
            gate.entered.set()
            gate.release.wait(10)
        return {"done": True}

    @app.get("/public")
    def public() -> dict[str, Any]:
        return {"identity": current_identity(), "headers": dict(request.headers)}

    return app


def test_a_guarded_view_gets_the_identity_and_never_the_key(sync_keystead: SyncKeystead) -> None:
    issued = issue_sync(sync_keystead, owner_id="acme", permissions=["data.read"])
    with serve_wsgi(make_app(sync_keystead)) as client:
        by_bearer = client.get(
            "/api/data?x=1", headers={"Authorization": f"Bearer {issued.plaintext}"}
        )
        by_header = client.post(
            "/api/data", headers={"X-API-Key": issued.plaintext}, content=b"abc"
        )
        public = client.get("/public", headers={"X-API-Key": issued.plaintext})
    for served in (by_bearer, by_header):
        assert served.status_code == 200, served.text
        seen = served.json()
        assert (seen["key_id"], seen["owner_id"]) == (issued.key_id, "acme")
        assert not {"Authorization", "X-Api-Key"} & set(seen["headers"])
        assert issued.plaintext not in served.text
    assert by_bearer.json()["query"] == "x=1"
    assert public.json()["identity"] is None  # an open view: nothing verified ...
    assert "X-Api-Key" not in public.json()["headers"]  # ... and the key still removed


def test_refusals_are_problems_and_tell_nothing(sync_keystead: SyncKeystead) -> None:
    revoked = issue_sync(sync_keystead, permissions=["data.read"])
    sync_keystead.keys.revoke(sync_keystead.workspaces.local_operator(), revoked.key_id)
    other = issue_sync(sync_keystead, permissions=["billing.read"])
    with serve_wsgi(make_app(sync_keystead)) as client:
        missing = client.get("/api/data")
        gone = client.get("/api/data", headers={"X-API-Key": revoked.plaintext})
        unknown = client.get("/api/data", headers={"X-API-Key": revoked.plaintext[:-1] + "0"})
        garbled = client.get("/api/data", headers=[(b"authorization", b"Bearer \xff\xfe")])
        huge = client.get("/api/data", headers={"X-API-Key": "k" * 30_000})
        forbidden = client.get("/api/data", headers={"X-API-Key": other.plaintext})
    assert_refused(missing, 401)
    assert_refused(gone, 401)
    same_answer(gone, unknown)
    same_answer(gone, garbled)
    same_answer(gone, huge)
    assert missing.content == gone.content
    assert assert_refused(forbidden, 403)["code"] == "INSUFFICIENT_PERMISSIONS"


def test_rate_limit_headers_429_and_usage(sync_keystead: SyncKeystead) -> None:
    limits = [{"name": "per_second", "limit": 2, "duration_s": 3600}]
    issued = issue_sync(sync_keystead, permissions=["data.read"], ratelimits=limits)
    with serve_wsgi(make_app(sync_keystead)) as client:
        headers = {"X-API-Key": issued.plaintext}
        served = [client.post("/api/data", headers=headers, content=b"12345") for _ in range(2)]
        limited = client.get("/api/data", headers=headers)
    assert [r.status_code for r in served] == [200, 200]
    assert served[0].headers["ratelimit-policy"] == '"per_second";q=2;w=3600'
    assert served[1].headers["ratelimit"].startswith('"per_second";r=0;t=')
    assert assert_refused(limited, 429)["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) > 0
    records = usage_of_sync(sync_keystead, issued.key_id, count=3)
    assert [(r.code, r.status) for r in records] == [
        ("VALID", 200),
        ("VALID", 200),
        ("RATE_LIMITED", 429),
    ]
    assert records[0].bytes_in == 5
    assert records[0].bytes_out == len(served[0].content)
    assert records[0].response_ms is not None and records[0].response_ms > 0
    assert records[0].path == "/api/data" and records[0].method == "POST"


def test_a_lease_is_held_while_the_view_runs(sync_keystead: SyncKeystead) -> None:
    issued = issue_sync(sync_keystead, concurrency={"limit": 1, "lease_s": 60})
    gate = Gate()
    headers = {"X-API-Key": issued.plaintext}
    with serve_wsgi(make_app(sync_keystead, gate)) as client:
        results: list[httpx.Response] = []

        def hold() -> None:
            with httpx.Client(base_url=client.base_url) as own:  # a connection of its own
                results.append(own.get("/hold", headers=headers))

        first = threading.Thread(target=hold)
        first.start()
        assert gate.entered.wait(10)
        second = client.get("/hold", headers=headers)
        gate.release.set()
        first.join(10)
        third = until_status(lambda: client.get("/hold", headers=headers), 200)
    assert results[0].status_code == 200
    assert_refused(second, 429)
    assert third.status_code == 200


def test_protect_every_view_and_read_a_cookie(sync_keystead: SyncKeystead) -> None:
    issued = issue_sync(sync_keystead)
    app = make_app(sync_keystead, public=False, sources=KeySources(cookie="key"))
    with serve_wsgi(app) as client:
        missing = client.get("/public")
        served = client.get("/public", headers={"Cookie": f"key={issued.plaintext}; a=b"})
    assert_refused(missing, 401)
    assert served.status_code == 200
    assert served.json()["headers"]["Cookie"] == "a=b"


def test_closing_waits_for_a_request_still_being_answered(
    sync_keystead: SyncKeystead, settings: Settings
) -> None:
    """Threaded servers exit without joining their request threads: a guard
    that opened its own service waits for checked requests before closing it,
    so the last answered request's usage is written too."""
    issued = issue_sync(sync_keystead)
    guard = SyncEmbedded(settings=settings)
    check = guard.check(issued.plaintext, VerifyContext(ip="127.0.0.1", method="GET", path="/x"))
    assert check.identity is not None
    closing = threading.Thread(target=guard.close)
    closing.start()
    closing.join(0.3)
    assert closing.is_alive()  # waiting for the request
    guard.finish(check, Served(429, 2.0, 0, 10))
    closing.join(10)
    assert not closing.is_alive()
    records = usage_of_sync(sync_keystead, issued.key_id, completed=True)
    assert [(record.status, record.bytes_out) for record in records] == [(429, 10)]


def test_inflight_drain_is_bounded() -> None:
    in_flight = InFlight()
    assert in_flight.drain(0)
    in_flight.begin()
    in_flight.begin()
    assert not in_flight.drain(0.05)  # still running: gives up at the bound
    in_flight.end()
    assert not in_flight.drain(0)
    in_flight.end()
    assert in_flight.drain(0)
