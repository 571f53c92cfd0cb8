"""A middleware's record: verify without recording, answer, then ``complete``
with the response; the record, its rollups and its bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.errors import ValidationError
from keystead.service import Keystead

CONTEXT = VerifyContext(ip="8.8.8.8", user_agent="curl/8", method="POST", path="/v1/orders")


async def test_a_completed_request_is_one_record_with_its_response(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="orders")
    created = await keystead.keys.create(admin, api_id=api.id, owner_id="alice")
    started = clock.now()
    verdict = await keystead.verify(created.plaintext, CONTEXT, record=False)
    clock.advance(0.25)
    await keystead.usage.complete(
        verdict,
        CONTEXT,
        status=201,
        response_ms=250.0,
        bytes_in=512,
        bytes_out=2048,
        tags=["orders.create", "eu"],
    )
    refused = await keystead.verify("not-a-key", CONTEXT, principal=admin, record=False)
    await keystead.usage.complete(refused, CONTEXT, status=401, response_ms=0.4, principal=admin)
    await keystead.flush()

    newest, first = await keystead.usage.records(admin)
    assert first.key_id == created.key.id and first.code == "VALID"
    assert (first.status, first.response_ms, first.bytes_in, first.bytes_out) == (
        201,
        250.0,
        512,
        2048,
    )
    assert first.tags == ("orders.create", "eu")
    assert first.at == pytest.approx(started)  # when the request began
    assert (first.ip, first.country, first.method, first.path) == (
        "8.8.8.8",
        "US",
        "POST",
        "/v1/orders",
    )
    assert (newest.code, newest.status, newest.workspace_id) == (
        "MALFORMED",
        401,
        admin.workspace_id,
    )
    (_, minute), *_ = await keystead.usage.rollups(admin, "key", created.key.id, "minute")
    assert (minute.count, minute.statuses, minute.bytes_in, minute.bytes_out) == (
        1,
        {"2xx": 1},
        512,
        2048,
    )
    assert minute.percentile(0.5) == pytest.approx(250.0, rel=0.13)


async def test_verify_without_record_records_nothing(keystead: Keystead, admin: Principal) -> None:
    api = await keystead.apis.create(admin, name="quiet")
    created = await keystead.keys.create(admin, api_id=api.id)
    assert (await keystead.verify(created.plaintext, record=False)).valid
    await keystead.flush()
    assert await keystead.usage.records(admin) == []
    assert keystead.usage.recorder.written == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": 99}, "status"),
        ({"status": 600}, "status"),
        ({"status": True}, "status"),
        ({"response_ms": -1}, "response_ms"),
        ({"response_ms": float("nan")}, "response_ms"),
        ({"bytes_out": -5}, "bytes_out"),
        ({"bytes_in": 1.5}, "bytes_in"),
        ({"tags": "one-string"}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"tags": ["x" * 101]}, "tags"),
        ({"tags": [str(i) for i in range(17)]}, "tags"),
    ],
)
async def test_bad_completions_are_refused_and_nothing_is_recorded(
    keystead: Keystead, admin: Principal, fields: dict[str, Any], field: str
) -> None:
    verdict = await keystead.verify("not-a-key", principal=admin, record=False)
    with pytest.raises(ValidationError) as refused:
        await keystead.usage.complete(verdict, **fields)
    assert refused.value.field == field
    assert keystead.usage.recorder.pending == 0


async def test_completions_are_not_recorded_when_usage_is_off(
    settings: Settings, clock: ManualClock
) -> None:
    ks = await Keystead.open(
        settings=settings.model_copy(update={"usage_enabled": False}), clock=clock
    )
    try:
        admin = await ks.workspaces.local_operator()
        verdict = await ks.verify("not-a-key", principal=admin, record=False)
        await ks.usage.complete(verdict, status=401)
        assert ks.usage.recorder.pending == 0
    finally:
        await ks.close()


async def test_a_completion_waits_for_room_only_under_the_block_policy(
    settings: Settings, clock: ManualClock
) -> None:
    """``complete_now`` appends at once while there is room; on a full buffer
    the ``block`` policy gives back what to await (it ends once the flusher
    made room), the ``drop`` policy counts the record as dropped."""
    for policy in ("block", "drop"):
        tuned = {
            "usage_buffer_size": 2,
            "usage_full_policy": policy,
            "usage_flush_interval_s": 3600,
        }
        ks = await Keystead.open(settings=settings.model_copy(update=tuned), clock=clock)
        try:
            admin = await ks.workspaces.local_operator()
            verdict = await ks.verify("not-a-key", principal=admin, record=False)
            assert ks.usage.complete_now(verdict, status=401, principal=admin) is None
            assert ks.usage.complete_now(verdict, status=401, principal=admin) is None
            waiting = ks.usage.complete_now(verdict, status=401, principal=admin)
            if policy == "drop":
                assert waiting is None and ks.usage.recorder.dropped == 1
                continue
            assert waiting is not None
            await asyncio.wait_for(waiting, 10)  # the flusher took the two: room again
            await ks.flush()
            assert len(await ks.usage.records(admin)) == 3
            assert ks.usage.recorder.dropped == 0
        finally:
            await ks.close()
