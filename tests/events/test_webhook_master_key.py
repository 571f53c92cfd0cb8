"""Webhook secrets sealed under the master key: deliveries are signed exactly as
before, with the current secret and the one it replaced, across a master-key
rotation, a rewrap and the retirement of the old version; a store that gets its
master key later converts its secrets on open, and signing goes on unchanged."""

from __future__ import annotations

import pytest
from receivers import Receiver
from webhookkit import check_signed, fast_settings, hook, issue

from keystead.config import Settings
from keystead.core.at_rest import ENVELOPE, LEGACY
from keystead.service import Keystead


async def _signed_once(ks: Keystead, receiver: Receiver, secrets: list[str], seen: int) -> None:
    who = await ks.workspaces.local_operator()
    await issue(ks, who)
    requests = await receiver.wait_for(seen + 1)
    for secret in secrets:
        check_signed(requests[seen], secret)


@pytest.mark.parametrize("overlap", [0, 3600])
async def test_deliveries_stay_signed_across_rotation_rewrap_and_retire(
    settings: Settings, overlap: int
) -> None:
    ks = await Keystead.open(settings=fast_settings(settings), create_master_key=True)
    try:
        who = await ks.workspaces.local_operator()
        async with Receiver() as receiver:
            created = await hook(ks, who, receiver.url, ("key.created",))
            rotated = await ks.webhooks.rotate_secret(
                who, created.webhook.id, expire_old_after_s=overlap
            )
            found = await ks.store.get_webhook(who.workspace_id, created.webhook.id)
            assert found is not None and found.sealed_secret[:1] == ENVELOPE
            await ks.start_dispatcher()
            secrets = [rotated.secret, created.secret] if overlap else [rotated.secret]
            await _signed_once(ks, receiver, secrets, 0)

            await ks.master_keys.rotate()
            await _signed_once(ks, receiver, secrets, 1)  # still under version 1
            await ks.master_keys.rewrap()
            await ks.master_keys.retire(1)
            assert set(await ks.master_keys.references()) == {2}
            await _signed_once(ks, receiver, secrets, 2)
    finally:
        await ks.close()


async def test_a_store_given_a_master_key_later_signs_with_the_same_secret(
    settings: Settings,
) -> None:
    before = await Keystead.open(settings=fast_settings(settings))
    async with Receiver() as receiver:
        try:
            who = await before.workspaces.local_operator()
            created = await hook(before, who, receiver.url, ("key.created",))
            found = await before.store.get_webhook(who.workspace_id, created.webhook.id)
            assert found is not None and found.sealed_secret[:1] == LEGACY
        finally:
            await before.close()

        after = await Keystead.open(settings=fast_settings(settings), create_master_key=True)
        try:
            found = await after.store.get_webhook(who.workspace_id, created.webhook.id)
            assert found is not None and found.sealed_secret[:1] == ENVELOPE
            await after.start_dispatcher()
            await _signed_once(after, receiver, [created.secret], 0)
        finally:
            await after.close()
