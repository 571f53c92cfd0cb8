"""Usage reports from the clients: sent at once (``record_usage``) or queued and
sent in the background (``queue_usage``), read back from the server's store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from keystead.client import ApiError, AsyncClient, UsageReport
from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.usage import UsageRecord
from keystead.http.app import create_app
from keystead.service import Keystead

from .conftest import BASE_URL, App
from .flavours import ROOT_KEY


def _report(key_id: str | None, **fields: object) -> UsageReport:
    base: dict[str, object] = {
        "code": "VALID",
        "at": time.time() - 1,
        "ip": "198.51.100.4",
        "method": "POST",
    }
    return UsageReport(key_id, **{**base, **fields})  # type: ignore[arg-type]


def _records(app: App, key_id: str | None = None) -> list[UsageRecord]:
    app.runner.run(app.ks.flush())
    operator = app.runner.run(app.ks.workspaces.local_operator())
    return app.runner.run(app.ks.usage.records(operator, key_id=key_id))


def test_record_usage_sends_one_batch(app: App) -> None:
    api = app.client.create_api("reported")
    key = app.client.create_key(api["id"], owner_id="org_1")
    reports = [
        _report(key["id"], status=201, response_ms=12.5, bytes_in=300, bytes_out=4096),
        _report(key["id"], status=503, tags=("orders.create", "beta")),
    ]

    app.client.record_usage(reports)

    records = sorted(_records(app, key["id"]), key=lambda r: r.status or 0)
    assert [(r.api_id, r.owner_id, r.code, r.method) for r in records] == [
        (api["id"], "org_1", "VALID", "POST")
    ] * 2
    assert [(r.status, r.response_ms, r.bytes_in, r.bytes_out) for r in records] == [
        (201, 12.5, 300, 4096),
        (503, None, None, None),
    ]
    assert records[1].tags == ("orders.create", "beta")


def test_a_bad_report_is_refused_with_its_field(app: App) -> None:
    with pytest.raises(ApiError) as caught:
        app.client.record_usage([_report(None), _report(None, status=999)])

    assert caught.value.status == 422
    assert caught.value.body is not None and caught.value.body["field"] == "records[1].status"
    assert _records(app) == []


def test_batches_are_bounded() -> None:
    from keystead.client import Client

    with Client("http://ks.test", ROOT_KEY) as client:
        with pytest.raises(ValueError, match="1000"):
            client.record_usage([_report(None)] * 1001)
        with pytest.raises(ValueError):
            client.record_usage(_report(None))  # type: ignore[arg-type]


@dataclass
class Served:
    ks: Keystead
    client: AsyncClient
    operator: Principal


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[Served]:
    async with await Keystead.open(settings=settings) as ks:
        root_key = (await ks.workspaces.init()).root_key.plaintext
        transport = httpx.ASGITransport(app=create_app(ks))
        client = AsyncClient(BASE_URL, root_key, transport=transport)
        try:
            yield Served(ks, client, await ks.workspaces.local_operator())
        finally:
            await client.aclose()


async def test_queued_reports_go_out_in_the_background(served: Served) -> None:
    client = served.client
    api = await client.create_api("queued")
    key = await client.create_key(api["id"])

    for status in (200, 200, 404):
        client.queue_usage(_report(key["id"], status=status))
    pending = client.usage_pending
    records: list[UsageRecord] = []
    for _ in range(100):  # the sender wakes every second
        await asyncio.sleep(0.05)
        await served.ks.flush()
        records = await served.ks.usage.records(served.operator, key_id=key["id"])
        if len(records) == 3:
            break

    assert pending == 3
    assert sorted(r.status or 0 for r in records) == [200, 200, 404]
    assert client.usage_dropped == 0


async def test_closing_sends_what_waits(served: Served) -> None:
    client = served.client
    client.queue_usage(_report(None, code="NOT_FOUND", status=401))

    await client.aclose()
    await served.ks.flush()
    records = await served.ks.usage.records(served.operator)

    assert [(r.code, r.key_id, r.status) for r in records] == [("NOT_FOUND", None, 401)]
