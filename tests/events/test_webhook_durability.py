"""Delivery survives the process and scales across nodes: events written while no
dispatcher runs are delivered by the next one, a retry outlives a restart, and two
nodes on one database deliver each event exactly once (barring a node's death)."""

from __future__ import annotations

import asyncio

import pytest
from receivers import Receiver, always
from webhookkit import FAST, count_of, eventually, fast_settings, hook, issue

from keystead.config import Settings
from keystead.events.webhooks import verify_signature
from keystead.service import Keystead


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return fast_settings(settings)


async def test_events_wait_in_the_outbox_for_a_dispatcher(fast: Settings) -> None:
    async with Receiver() as receiver:
        first = await Keystead.open(settings=fast)
        who = await first.workspaces.local_operator()
        created = await hook(first, who, receiver.url)
        key = await issue(first, who)
        await first.keys.revoke(who, key.key.id)
        await first.close()  # the process "dies": no dispatcher ever ran
        assert receiver.requests == []

        second = await Keystead.open(settings=fast)
        try:
            await second.start_dispatcher()
            requests = await receiver.wait_for(2)
            for request in requests:
                verify_signature(created.secret, request.headers, request.body)
            assert sorted(r.json()["type"] for r in requests) == ["key.created", "key.revoked"]
        finally:
            await second.close()


async def test_a_retry_outlives_a_restart(fast: Settings) -> None:
    tuned = fast.model_copy(update={"webhook_max_attempts": 5, "webhook_retry_base_s": 0.5})
    async with Receiver(always(500)) as receiver:
        first = await Keystead.open(settings=tuned)
        who = await first.workspaces.local_operator()
        created = await hook(first, who, receiver.url)
        await first.start_dispatcher()
        await issue(first, who)
        await receiver.wait_for(1)
        await first.close()  # stops the dispatcher with the delivery failing

        receiver.answer = always(200)
        second = await Keystead.open(settings=tuned)
        try:
            await second.start_dispatcher()

            async def succeeded() -> bool:
                page = await second.webhooks.deliveries(who, status="succeeded")
                return len(page.items) == 1

            await eventually(succeeded, "the delivery to succeed after the restart")
            final = receiver.requests[-1]
            verify_signature(created.secret, final.headers, final.body)
            assert {r.body for r in receiver.requests} == {final.body}
        finally:
            await second.close()


async def test_two_dispatchers_deliver_each_event_once(fast: Settings) -> None:
    count = 30
    async with Receiver() as receiver:
        node_a = await Keystead.open(settings=fast)
        node_b = await Keystead.open(settings=fast)
        try:
            who = await node_a.workspaces.local_operator()
            created = await hook(node_a, who, receiver.url)
            dispatchers = [await node_a.start_dispatcher(), await node_b.start_dispatcher()]
            api = await node_a.apis.create(who, name="busy")
            for index in range(count):  # events written through both nodes
                node = node_a if index % 2 else node_b
                await node.keys.create(who, api_id=api.id, name=f"k{index}")

            await count_of(node_a, who, "succeeded", count)
            await asyncio.sleep(FAST["outbox_poll_interval_s"] * 4)  # a straggler would show
            ids = [r.headers["webhook-id"] for r in receiver.requests]
            assert len(ids) == count and len(set(ids)) == count
            for request in receiver.requests:
                verify_signature(created.secret, request.headers, request.body)
            assert sum(d.attempts_made for d in dispatchers) == count
            assert sum(d.events_fanned_out for d in dispatchers) == count
        finally:
            await node_b.close()
            await node_a.close()
