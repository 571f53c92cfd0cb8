"""Browser sessions and portal links, on SQLite and PostgreSQL: sign-in with a
root key, idle and absolute expiry on the injected clock, a revoked root key
ending its sessions, one-time portal links (also when redeemed concurrently),
permissions never wider than the creator's, and failed attempts counted per IP."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.errors import Conflict, Forbidden, TooManyAttempts, Unauthorized, ValidationError
from keystead.service import Keystead
from keystead.service.web_sessions import PORTAL_PERMISSIONS


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


async def test_sign_in_resume_and_sign_out(keystead: Keystead, admin: Principal) -> None:
    root = await keystead.root_keys.create(admin, permissions=["keys.read", "portal.create"])
    token, session = await keystead.web_sessions.sign_in(
        root.plaintext, ip="198.51.100.1", user_agent="test"
    )
    assert session.area == "ui" and session.workspace_id == admin.workspace_id
    assert session.principal.actor == f"root_key:{root.root_key.id}"
    assert session.principal.grants.covers("keys.read")
    assert not session.principal.grants.covers("keys.create")
    assert len(token) >= 43 and token not in repr(session)
    resumed = await keystead.web_sessions.resume(token, area="ui")
    assert resumed is not None and resumed.id == session.id
    assert resumed.csrf_token == session.csrf_token and len(session.csrf_token) >= 43
    assert resumed.principal == session.principal
    assert await keystead.web_sessions.resume(token, area="portal") is None
    assert await keystead.web_sessions.resume(token + "x", area="ui") is None
    # only the keyed hash is stored
    record = await keystead.store.find_web_session(keystead._ctx.hasher.hash(token))
    assert record is not None and token.encode() not in record.token_hash
    await keystead.web_sessions.sign_out(token)
    assert await keystead.web_sessions.resume(token, area="ui") is None
    actions = [e.record.action for e in (await keystead.audit.list(admin, limit=50)).items]
    assert "web.sign_in" in actions and "web.sign_out" in actions


async def test_idle_and_absolute_expiry(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    root = await keystead.root_keys.create(admin, permissions=["keys.read"])
    sessions = keystead.web_sessions
    idle = keystead.settings.web_session_idle_s
    token, session = await sessions.sign_in(root.plaintext, ip=None, user_agent=None)
    assert session.expires_at - session.created_at == keystead.settings.web_session_max_s
    clock.advance(idle - 1)
    assert await sessions.resume(token, area="ui") is not None  # touched: idle starts over
    clock.advance(idle - 1)
    assert await sessions.resume(token, area="ui") is not None
    clock.advance(idle)  # unused a whole idle period
    assert await sessions.resume(token, area="ui") is None

    token, session = await sessions.sign_in(root.plaintext, ip=None, user_agent=None)
    while clock.now() + idle / 2 < session.expires_at:
        clock.advance(idle / 2)
        assert await sessions.resume(token, area="ui") is not None
    clock.advance(idle / 2)  # past the absolute expiry though in use
    assert await sessions.resume(token, area="ui") is None
    assert await sessions.purge() >= 2


async def test_last_seen_written_at_most_once_a_minute(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    root = await keystead.root_keys.create(admin, permissions=["keys.read"])
    token, session = await keystead.web_sessions.sign_in(root.plaintext, ip=None, user_agent=None)
    digest = keystead._ctx.hasher.hash(token)
    clock.advance(30)
    assert await keystead.web_sessions.resume(token, area="ui") is not None
    stored = await keystead.store.find_web_session(digest)
    assert stored is not None and stored.last_seen == session.created_at
    clock.advance(31)
    assert await keystead.web_sessions.resume(token, area="ui") is not None
    stored = await keystead.store.find_web_session(digest)
    assert stored is not None and stored.last_seen == clock.now()


async def test_revoked_root_key_ends_its_sessions(keystead: Keystead, admin: Principal) -> None:
    root = await keystead.root_keys.create(admin, permissions=["keys.read", "portal.create"])
    token, _ = await keystead.web_sessions.sign_in(root.plaintext, ip=None, user_agent=None)
    caller = await keystead.root_keys.authenticate(root.plaintext)
    link = await keystead.web_sessions.create_portal_link(caller, "cust_1")
    portal_token, _ = await keystead.web_sessions.redeem_portal_link(
        _token(link.url), ip=None, user_agent=None
    )
    assert await keystead.web_sessions.resume(portal_token, area="portal") is not None
    await keystead.root_keys.revoke(admin, root.root_key.id)
    assert await keystead.web_sessions.resume(token, area="ui") is None
    assert await keystead.web_sessions.resume(portal_token, area="portal") is None
    with pytest.raises(Unauthorized):
        await keystead.web_sessions.sign_in(root.plaintext, ip=None, user_agent=None)


async def test_portal_link_is_one_time_and_owner_scoped(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="portal", prefix="pt")
    link = await keystead.web_sessions.create_portal_link(
        admin, "cust_1", return_url="https://example.com/account"
    )
    assert link.owner_id == "cust_1"
    assert link.url.startswith(keystead.settings.base_url() + "/portal/enter?token=ksportal_")
    token = _token(link.url)
    session_token, session = await keystead.web_sessions.redeem_portal_link(
        token, ip="198.51.100.2", user_agent=None
    )
    p = session.principal
    assert (session.area, session.owner_id, p.owner_id) == ("portal", "cust_1", "cust_1")
    assert p.actor == "portal:cust_1" and p.workspace_id == admin.workspace_id
    assert session.return_url == "https://example.com/account"
    assert all(p.grants.covers(x) for x in PORTAL_PERMISSIONS)
    assert not p.grants.covers("root_keys.create") and not p.grants.covers("portal.create")
    with pytest.raises(Unauthorized):
        await keystead.web_sessions.redeem_portal_link(token, ip=None, user_agent=None)
    assert await keystead.web_sessions.resume(session_token, area="ui") is None
    resumed = await keystead.web_sessions.resume(session_token, area="portal")
    assert resumed is not None and resumed.principal == p
    # the portal principal sees only its owner's keys
    mine = await keystead.keys.create(p, api_id=api.id)
    assert mine.key.owner_id == "cust_1"
    other = await keystead.keys.create(admin, api_id=api.id, owner_id="cust_2")
    listed = await keystead.keys.list(p, api_id=api.id)
    assert [k.id for k in listed.items] == [mine.key.id]
    with pytest.raises(Exception) as refused:
        await keystead.keys.get(p, other.key.id)
    assert getattr(refused.value, "status", None) in (403, 404)
    actions = [e.record.action for e in (await keystead.audit.list(admin, limit=50)).items]
    assert "portal.link_create" in actions and "portal.enter" in actions


async def test_concurrent_redemptions_give_one_session(
    keystead: Keystead, admin: Principal
) -> None:
    link = await keystead.web_sessions.create_portal_link(admin, "cust_1")
    token = _token(link.url)
    results = await asyncio.gather(
        *(
            keystead.web_sessions.redeem_portal_link(token, ip=None, user_agent=None)
            for _ in range(5)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert sum(isinstance(r, Unauthorized) for r in results) == 4


async def test_expired_link_is_refused(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    link = await keystead.web_sessions.create_portal_link(admin, "cust_1")
    clock.advance(keystead.settings.portal_link_ttl_s)
    with pytest.raises(Unauthorized):
        await keystead.web_sessions.redeem_portal_link(_token(link.url), ip=None, user_agent=None)
    assert await keystead.web_sessions.purge() == 1


async def test_portal_session_lasts_at_most_portal_session_max(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    link = await keystead.web_sessions.create_portal_link(admin, "cust_1")
    token, session = await keystead.web_sessions.redeem_portal_link(
        _token(link.url), ip=None, user_agent=None
    )
    assert session.expires_at - session.created_at == keystead.settings.portal_session_max_s
    clock.advance(keystead.settings.portal_session_max_s)
    assert await keystead.web_sessions.resume(token, area="portal") is None


async def test_link_permissions_never_wider_than_the_creator(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="narrow", prefix="nr")
    other = await keystead.apis.create(admin, name="other", prefix="ot")
    root = await keystead.root_keys.create(
        admin, permissions=["portal.create", "keys.read"], api_ids=[api.id]
    )
    narrow = await keystead.root_keys.authenticate(root.plaintext)
    sessions = keystead.web_sessions
    with pytest.raises(Forbidden):
        await sessions.create_portal_link(narrow, "c", permissions=["keys.create"])
    with pytest.raises(Forbidden):
        await sessions.create_portal_link(narrow, "c", api_ids=[other.id])
    with pytest.raises(ValidationError) as bad:
        await sessions.create_portal_link(admin, "c", permissions=["keys.read", "root_keys.create"])
    assert bad.value.field == "permissions[1]"
    with pytest.raises(ValidationError) as bad:
        await sessions.create_portal_link(admin, "c", return_url="javascript:alert(1)")
    assert bad.value.field == "return_url"
    with pytest.raises(Forbidden):  # no portal.create
        reader = await keystead.root_keys.create(admin, permissions=["keys.read"])
        await sessions.create_portal_link(
            await keystead.root_keys.authenticate(reader.plaintext), "c"
        )
    link = await sessions.create_portal_link(narrow, "c")  # defaults trimmed to what it holds
    _, session = await sessions.redeem_portal_link(_token(link.url), ip=None, user_agent=None)
    assert session.principal.grants.grants == ("keys.read",)
    assert session.principal.api_ids == frozenset({api.id})


async def test_owner_narrowed_creator_links_only_its_owner(
    keystead: Keystead, admin: Principal
) -> None:
    root = await keystead.root_keys.create(
        admin, permissions=["portal.create", "keys.read"], owner_id="cust_1"
    )
    caller = await keystead.root_keys.authenticate(root.plaintext)
    with pytest.raises(ValidationError):
        await keystead.web_sessions.create_portal_link(caller, "cust_2")
    link = await keystead.web_sessions.create_portal_link(caller, "cust_1")
    assert link.owner_id == "cust_1"


async def test_failed_sign_ins_and_redemptions_spend_the_ip_allowance(
    keystead: Keystead, admin: Principal
) -> None:
    limit = keystead.settings.failed_attempts_limit
    root = await keystead.root_keys.create(admin, permissions=["keys.read"])
    ip = "203.0.113.9"
    sessions = keystead.web_sessions
    for attempt in range(limit):  # the allowance: each answered 401
        with pytest.raises(Unauthorized):
            if attempt % 2:
                await sessions.sign_in("ksroot_" + "x" * 30, ip=ip, user_agent=None)
            else:
                await sessions.redeem_portal_link("ksportal_nothing", ip=ip, user_agent=None)
    assert keystead.failed_attempts.state(ip, keystead.clock.now()).failures_seen == limit
    with pytest.raises(TooManyAttempts):  # one more failure exhausts it
        await sessions.sign_in("ksroot_" + "y" * 30, ip=ip, user_agent=None)
    with pytest.raises(TooManyAttempts):  # blocked: even the right key is not looked up
        await sessions.sign_in(root.plaintext, ip=ip, user_agent=None)
    # another address is not affected
    token, _ = await sessions.sign_in(root.plaintext, ip="203.0.113.10", user_agent=None)
    assert await sessions.resume(token, area="ui") is not None


async def test_branding_defaults_update_and_validation(
    keystead: Keystead, admin: Principal
) -> None:
    sessions = keystead.web_sessions
    default = await sessions.branding(admin.workspace_id)
    assert (default.name, default.accent, default.logo_url) == ("Keystead", "#2457c5", None)
    updated = await sessions.set_branding(
        admin,
        {
            "name": "Acme API",
            "logo_url": "https://cdn.example.com/logo.svg",
            "accent": "#AA0011",
            "max_keys_per_owner": 3,
            "key_defaults": {
                "expires_in_s": 86400,
                "ratelimits": [{"name": "day", "limit": 1000, "duration_s": 86400}],
            },
        },
    )
    assert updated.accent == "#aa0011" and updated.max_keys_per_owner == 3
    assert await sessions.branding(admin.workspace_id) == updated
    partial = await sessions.set_branding(admin, {"name": "Acme", "logo_url": None})
    assert (partial.name, partial.logo_url, partial.accent) == ("Acme", None, "#aa0011")
    bad: list[tuple[dict[str, Any], str]] = [
        ({"logo_url": "http://cdn.example.com/x.png"}, "logo_url"),
        ({"logo_url": "javascript:alert(1)"}, "logo_url"),
        ({"logo_url": 'https://x.test/"><script>'}, "logo_url"),
        ({"accent": "red"}, "accent"),
        ({"accent": "#12345g"}, "accent"),
        ({"name": ""}, "name"),
        ({"max_keys_per_owner": 0}, "max_keys_per_owner"),
        ({"max_keys_per_owner": True}, "max_keys_per_owner"),
        ({"key_defaults": {"expires_in_s": -1}}, "key_defaults.expires_in_s"),
        ({"key_defaults": {"nope": 1}}, "key_defaults.nope"),
        ({"colour": "#000000"}, "colour"),
    ]
    for change, field in bad:
        with pytest.raises(ValidationError) as refused:
            await sessions.set_branding(admin, change)
        assert refused.value.field == field, change
    reader = await keystead.root_keys.create(admin, permissions=["keys.read"])
    with pytest.raises(Forbidden):
        await sessions.set_branding(
            await keystead.root_keys.authenticate(reader.plaintext), {"name": "x"}
        )
    actions = [e.record.action for e in (await keystead.audit.list(admin, limit=50)).items]
    assert "portal.branding_update" in actions


async def test_portal_keys_follow_the_providers_limits(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="limited", prefix="lm")
    sessions = keystead.web_sessions
    day = {"name": "day", "limit": 1000, "duration_s": 86400}
    await sessions.set_branding(
        admin,
        {"max_keys_per_owner": 2, "key_defaults": {"expires_in_s": 3600, "ratelimits": [day]}},
    )
    link = await sessions.create_portal_link(admin, "cust_1")
    _, session = await sessions.redeem_portal_link(_token(link.url), ip=None, user_agent=None)
    p = session.principal
    first = await sessions.create_portal_key(p, {"api_id": api.id, "name": "mine"})
    assert (first.key.owner_id, first.key.name) == ("cust_1", "mine")
    assert first.key.expires_at is not None
    assert first.key.expires_at.timestamp() == pytest.approx(keystead.clock.now() + 3600)
    assert first.key.limits["ratelimits"][0]["limit"] == 1000
    with pytest.raises(ValidationError) as bad:  # the customer cannot lift the limits
        await sessions.create_portal_key(p, {"api_id": api.id, "ratelimits": []})
    assert bad.value.field == "ratelimits"
    await keystead.keys.create(admin, api_id=api.id, owner_id="cust_2")  # another owner's
    await sessions.create_portal_key(p, {"api_id": api.id})
    with pytest.raises(Conflict):
        await sessions.create_portal_key(p, {"api_id": api.id})
    await keystead.keys.revoke(p, first.key.id)  # a revoked key frees its place
    await sessions.create_portal_key(p, {"api_id": api.id})
    with pytest.raises(Forbidden):  # not a portal (owner-narrowed) principal
        await sessions.create_portal_key(admin, {"api_id": api.id})


async def test_concurrent_portal_keys_never_pass_the_limit(
    keystead: Keystead, admin: Principal
) -> None:
    """Eight creations at once against a limit of three: each counts in the
    transaction that inserts, so exactly three are stored, whatever the order."""
    api = await keystead.apis.create(admin, name="raced", prefix="rc")
    sessions = keystead.web_sessions
    await sessions.set_branding(admin, {"max_keys_per_owner": 3})
    link = await sessions.create_portal_link(admin, "cust_race")
    _, session = await sessions.redeem_portal_link(_token(link.url), ip=None, user_agent=None)
    p = session.principal
    outcomes = await asyncio.gather(
        *(sessions.create_portal_key(p, {"api_id": api.id}) for _ in range(8)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, Conflict) for o in refused), refused
    assert len(outcomes) - len(refused) == 3
    held = await keystead.keys.list(admin, owner_id="cust_race")
    assert len(held.items) == 3
    audited = await keystead.audit.list(admin, action="key.create")  # the refused leave none
    assert sorted(e.record.target_id or "" for e in audited.items) == sorted(
        k.id for k in held.items
    )


async def test_a_link_of_another_workspace_opens_that_workspace_only(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="ours", prefix="ou")
    ours = await keystead.keys.create(admin, api_id=api.id, owner_id="cust_1")
    other = await keystead.workspaces.create("other")
    theirs = await keystead.workspaces.local_operator(other.workspace.id)
    link = await keystead.web_sessions.create_portal_link(theirs, "cust_1")
    _, session = await keystead.web_sessions.redeem_portal_link(
        _token(link.url), ip=None, user_agent=None
    )
    assert session.workspace_id == other.workspace.id != admin.workspace_id
    listed = await keystead.keys.list(session.principal)
    assert listed.items == []
    with pytest.raises(Exception) as refused:
        await keystead.keys.get(session.principal, ours.key.id)
    assert getattr(refused.value, "status", None) == 404
    assert (await keystead.web_sessions.branding(other.workspace.id)).name == "Keystead"


async def test_sessions_work_across_nodes(
    keystead: Keystead, admin: Principal, settings: Settings, clock: ManualClock
) -> None:
    other = await Keystead.open(settings=settings, clock=clock)
    try:
        root = await keystead.root_keys.create(admin, permissions=["keys.read"])
        token, session = await keystead.web_sessions.sign_in(
            root.plaintext, ip=None, user_agent=None
        )
        there = await other.web_sessions.resume(token, area="ui")
        assert there is not None and there.id == session.id
        assert there.csrf_token == session.csrf_token  # the same server secret
        await keystead.root_keys.revoke(admin, root.root_key.id)  # on the first node
        assert await other.web_sessions.resume(token, area="ui") is None
        link = await keystead.web_sessions.create_portal_link(admin, "cust_1")
        await other.web_sessions.redeem_portal_link(_token(link.url), ip=None, user_agent=None)
        with pytest.raises(Unauthorized):
            await keystead.web_sessions.redeem_portal_link(
                _token(link.url), ip=None, user_agent=None
            )
    finally:
        await other.close()
