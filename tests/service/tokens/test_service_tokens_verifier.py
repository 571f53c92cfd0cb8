"""The in-process verifier: memory only on the hot path, a bounded reload on an
unknown kid, a cache of verified tokens that still consults revocation, a flush
that forgets everything, and (without an invalidation channel) denials read again
once an API's state is older than ``stale_after_s``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from token_support import Setup, given

from keystead.config import Settings
from keystead.core.models import VerifyContext
from keystead.core.tokens import MAX_TOKEN_BYTES, Signer, TokenRefused, generate_private
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest
from keystead.service.tokens.verifier import MAX_LOADS_PER_S
from keystead.store.tokens import SigningKeyRecord


async def issue(s: Setup) -> Issued:
    issued = await s.ks.tokens.exchange(s.key, VerifyContext(), TokenRequest())
    assert isinstance(issued, Issued)
    return issued


def forged(s: Setup, kid: str, **claims: object) -> str:
    """A well-formed token signed by a key Keystead never made."""
    signer = Signer("EdDSA", kid, generate_private("EdDSA"))
    body = {"iss": s.ks.tokens.issuer(s.api.id), "api_id": s.api.id, **claims}
    return signer.sign(body)


async def test_unknown_kids_cost_one_load_per_interval(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    await issue(s)
    loads = 0
    listed = s.ks.store.list_signing_keys

    async def counted(api_id: str | None) -> list[SigningKeyRecord]:
        nonlocal loads
        loads += 1
        return await listed(api_id)

    s.ks.store.list_signing_keys = counted  # type: ignore[method-assign]
    for n in range(20):
        with pytest.raises(TokenRefused) as refused:
            await s.ks.tokens.verifier.verify_async(forged(s, f"tsk_made_up_{n}"))
        assert refused.value.reason == "unknown_kid"
    assert loads == 1


async def test_made_up_apis_cost_bounded_loads(vault: Keystead) -> None:
    """Tokens for made-up APIs cost at most ``MAX_LOADS_PER_S`` reads in any second
    (counted in the verifier's own one-second windows, however slow the machine)."""
    setup = await given(vault)
    s = setup
    per_second: Counter[int] = Counter()
    listed = s.ks.store.list_signing_keys

    async def counted(api_id: str | None) -> list[SigningKeyRecord]:
        per_second[int(time.monotonic())] += 1
        return await listed(api_id)

    s.ks.store.list_signing_keys = counted  # type: ignore[method-assign]
    for n in range(3 * MAX_LOADS_PER_S):
        token = forged(s, "tsk_made_up", api_id=f"api_made_up_{n}")
        with pytest.raises(TokenRefused):
            await s.ks.tokens.verifier.verify_async(token)
    assert per_second
    assert max(per_second.values()) <= MAX_LOADS_PER_S, per_second


async def test_concurrent_first_tokens_share_one_load(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await issue(s)
    found = await asyncio.gather(
        *(s.ks.tokens.verifier.verify_async(issued.token) for _ in range(10))
    )
    assert {v.jti for v in found} == {issued.jti}


async def test_a_cached_token_still_consults_revocation(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await issue(s)
    verifier = s.ks.tokens.verifier
    assert (await verifier.verify_async(issued.token)).jti == issued.jti
    assert verifier.verify(issued.token) is verifier.verify(issued.token)  # a cache hit
    await s.ks.tokens.revoke_jti(s.root, s.api.id, issued.jti, issued.expires_at)
    with pytest.raises(TokenRefused):
        verifier.verify(issued.token)


async def test_audience_is_checked_on_every_hit(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await issue(s)
    verifier = s.ks.tokens.verifier
    await verifier.verify_async(issued.token, audience=s.api.id)
    with pytest.raises(TokenRefused) as refused:
        verifier.verify(issued.token, audience="elsewhere")
    assert refused.value.reason == "audience"


async def test_a_token_must_name_its_keys_api(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    other_api = await s.ks.apis.create(s.root, name="billing")
    other = await s.ks.keys.create(s.root, api_id=other_api.id)
    theirs = await s.ks.tokens.exchange(other.plaintext, VerifyContext(), TokenRequest())
    assert isinstance(theirs, Issued)
    ours = await issue(s)
    verifier = s.ks.tokens.verifier
    assert (await verifier.verify_async(theirs.token)).api_id == other_api.id
    assert (await verifier.verify_async(ours.token)).api_id == s.api.id
    assert theirs.kid != ours.kid  # one key per API, never shared


async def test_oversized_and_garbage_tokens_are_refused_before_any_load(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    verifier = s.ks.tokens.verifier
    for token, reason in (("eyJ" + "a" * MAX_TOKEN_BYTES, "too_large"), ("x.y", "malformed")):
        with pytest.raises(TokenRefused) as refused:
            await verifier.verify_async(token)
        assert refused.value.reason == reason


async def test_a_flush_forgets_then_reloads(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await issue(s)
    verifier = s.ks.tokens.verifier
    await verifier.verify_async(issued.token)
    verifier.flush()
    with pytest.raises(TokenRefused):
        verifier.verify(issued.token)  # nothing held until loaded again
    for _ in range(100):
        await asyncio.sleep(0.01)
        try:
            verifier.verify(issued.token)
            break
        except TokenRefused:
            continue
    assert (await verifier.verify_async(issued.token)).jti == issued.jti


async def test_without_a_channel_denials_are_read_again(
    vault: Keystead, settings: Settings
) -> None:
    """A second service on the same database and no invalidation channel."""
    setup = await given(vault)
    s = setup
    lone = settings.model_copy(update={"invalidation_url": "none"})
    other = await Keystead.open(settings=lone, clock=s.ks.clock)
    try:
        assert other.invalidation is None
        issued = await issue(s)
        verifier = other.tokens.verifier
        verifier.stale_after_s = 0.05
        assert (await verifier.verify_async(issued.token)).jti == issued.jti
        await s.ks.keys.revoke(s.root, s.key_id)
        deadline = time.monotonic() + 5
        while True:
            try:
                await verifier.verify_async(issued.token)
            except TokenRefused as refused:
                assert refused.reason == "revoked"
                break
            assert time.monotonic() < deadline, "the other service never read the denial"
            await asyncio.sleep(0.02)
    finally:
        await other.close()
