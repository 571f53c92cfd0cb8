"""Every path that revokes, disables, rotates or deletes a key denies its tokens:
the denial commits with the change, reaches this node's verifier at once, and
refuses tokens issued before it (not those issued after a key is enabled again)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from token_support import Setup, given

from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenRefused
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest

CAUSE = {"source": "operator", "reason": "tests"}
Change = Callable[[Setup], Awaitable[object]]
CHANGES: dict[str, Change] = {
    "revoke": lambda s: s.ks.keys.revoke(s.root, s.key_id),
    "disable": lambda s: s.ks.keys.disable(s.root, s.key_id),
    "update-disabled": lambda s: s.ks.keys.update(s.root, s.key_id, {"enabled": False}),
    "delete": lambda s: s.ks.keys.delete(s.root, s.key_id),
    "rotate": lambda s: s.ks.rotation.rotate(s.root, s.key_id, grace_period_s=3600),
    "action-disable": lambda s: s.ks.actions.apply(s.root, s.key_id, "disable", CAUSE),
    "action-revoke": lambda s: s.ks.actions.apply(s.root, s.key_id, "revoke", CAUSE),
    "action-rotate": lambda s: s.ks.actions.apply(s.root, s.key_id, "rotate", CAUSE),
    "incident": lambda s: s.ks.incidents.compromise(s.root, s.key_id, reason="leaked"),
}


async def issue(s: Setup) -> Issued:
    issued = await s.ks.tokens.exchange(s.key, VerifyContext(), TokenRequest())
    assert isinstance(issued, Issued)
    return issued


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_key_change_refuses_its_tokens(vault: Keystead, change: str) -> None:
    setup = await given(vault)
    s = setup
    issued = await issue(s)
    other = await s.ks.keys.create(s.root, api_id=s.api.id)
    bystander = await s.ks.tokens.exchange(other.plaintext, VerifyContext(), TokenRequest())
    assert isinstance(bystander, Issued)
    assert (await s.ks.tokens.verifier.verify_async(issued.token)).key_id == s.key_id
    await CHANGES[change](s)
    with pytest.raises(TokenRefused) as refused:
        s.ks.tokens.verifier.verify(issued.token)  # at once, no I/O
    assert refused.value.reason == "revoked"
    assert await s.ks.tokens.introspect(issued.token, s.root) == {"active": False}
    assert s.ks.tokens.verifier.verify(bystander.token).key_id == other.key.id
    denials = await s.ks.store.list_denials(s.api.id)
    assert [(d.kind, d.subject) for d in denials] == [("key", s.key_id)]


async def test_a_key_enabled_again_issues_tokens_that_verify(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    before = await issue(s)
    await s.ks.tokens.verifier.prepare(s.api.id)
    await s.ks.keys.disable(s.root, s.key_id)
    await s.ks.keys.enable(s.root, s.key_id)
    s.ks.clock.advance(1)  # type: ignore[attr-defined]
    after = await issue(s)
    assert s.ks.tokens.verifier.verify(after.token).jti == after.jti
    with pytest.raises(TokenRefused):
        s.ks.tokens.verifier.verify(before.token)


async def test_a_rotated_keys_successor_and_grace_tokens_verify(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    rotation = await s.ks.rotation.rotate(s.root, s.key_id, grace_period_s=60)
    s.ks.clock.advance(1)  # type: ignore[attr-defined]
    successor = await s.ks.tokens.exchange(rotation.new.plaintext, VerifyContext(), TokenRequest())
    assert isinstance(successor, Issued)
    await s.ks.tokens.verifier.prepare(s.api.id)
    assert s.ks.tokens.verifier.verify(successor.token).key_id == rotation.new.key.id
    during_grace = await issue(s)
    assert during_grace.expires_in <= 59  # never past the old key's end of grace
    assert s.ks.tokens.verifier.verify(during_grace.token).key_id == s.key_id


async def test_a_failed_change_denies_nothing(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await issue(s)
    await s.ks.tokens.verifier.prepare(s.api.id)
    await s.ks.keys.revoke(s.root, s.key_id)
    seen = await s.ks.store.list_denials(s.api.id)
    with pytest.raises(Exception):  # noqa: B017 - a revoked key cannot rotate
        await s.ks.rotation.rotate(s.root, s.key_id)
    assert await s.ks.store.list_denials(s.api.id) == seen
    with pytest.raises(TokenRefused):
        s.ks.tokens.verifier.verify(issued.token)


async def test_a_jti_denial_refuses_that_token_alone(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    first, second = await issue(s), await issue(s)
    await s.ks.tokens.verifier.prepare(s.api.id)
    await s.ks.tokens.revoke_jti(s.root, s.api.id, first.jti, first.expires_at)
    with pytest.raises(TokenRefused) as refused:
        s.ks.tokens.verifier.verify(first.token)
    assert refused.value.reason == "revoked"
    assert s.ks.tokens.verifier.verify(second.token).jti == second.jti
