"""Leaked root keys: revoked at once whatever the leak policy, recorded, audited,
idempotent, and never across workspaces or beyond what the reporter may revoke."""

from __future__ import annotations

import hashlib

import pytest

from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.errors import Unauthorized
from keystead.service import Keystead
from keystead.service.leaks import LeakReport
from keystead.service.root_keys import ROOT_PREFIX

URL = "https://github.com/acme/infra/blob/0123abc/deploy.sh"


def _report(token: str) -> LeakReport:
    return LeakReport(token=token, source="scanner", url=URL, token_type="keystead_root")


async def _reporter(ks: Keystead, admin: Principal, *perms: str) -> Principal:
    created = await ks.root_keys.create(admin, name="scanner", permissions=list(perms))
    return await ks.root_keys.authenticate(created.plaintext)


async def _works(ks: Keystead, plaintext: str) -> bool:
    try:
        await ks.root_keys.authenticate(plaintext)
    except Unauthorized:
        return False
    return True


async def test_a_leaked_root_key_is_revoked_at_once_whatever_the_policy(
    keystead: Keystead, admin: Principal
) -> None:
    await keystead.leaks.policies.set(admin, action="notify")  # not for root keys
    leaked = await keystead.root_keys.create(admin, name="ci", permissions=["keys.read"])
    assert await _works(keystead, leaked.plaintext)
    # as RootKeyService.revoke: the reporter holds what the leaked root key holds
    reporter = await _reporter(keystead, admin, "leaks.report", "root_keys.revoke", "keys.read")

    [answer] = await keystead.leaks.report(reporter, [_report(leaked.plaintext)])

    rk_id = leaked.root_key.id
    assert (answer.status, answer.outcome, answer.key_id) == ("live", "revoked", rk_id)
    assert answer.true_positive and answer.incident_id is None
    assert answer.start == leaked.root_key.start
    assert answer.token_hash == hashlib.sha256(leaked.plaintext.encode()).hexdigest()
    assert not await _works(keystead, leaked.plaintext)
    [listed] = [k for k in await keystead.root_keys.list(admin) if k.id == rk_id]
    assert listed.revoked_at is not None
    record = await keystead.leaks.leak_of(admin.workspace_id, rk_id)
    assert record is not None and (record.outcome, record.url) == ("revoked", URL)
    assert record.reported_by == f"leak:{reporter.actor}"
    entries = [e async for e in keystead.audit.export(admin)]
    [revoked] = [e.record for e in entries if e.record.action == "root_key.revoke"]
    assert (revoked.target_id, revoked.actor) == (rk_id, f"leak:{reporter.actor}")
    stored = repr(record) + repr(answer) + repr(entries) + repr(await keystead.leaks.list(admin))
    assert leaked.plaintext not in stored
    assert keystead.leaks.counts["scanner", "revoked"] == 1


async def test_a_second_report_of_a_root_key_is_idempotent(
    keystead: Keystead, admin: Principal
) -> None:
    leaked = await keystead.root_keys.create(admin, name="ci")
    reporter = await _reporter(keystead, admin, "*")
    [first] = await keystead.leaks.report(reporter, [_report(leaked.plaintext)])

    [second] = await keystead.leaks.report(reporter, [_report(leaked.plaintext)])
    [github] = await keystead.leaks.report_github([_report(leaked.plaintext)], ["*"])

    for again in (second, github):
        assert (again.status, again.outcome, again.leak_id) == ("live", "revoked", first.leak_id)
        assert again.repeated
    entries = [e async for e in keystead.audit.export(admin)]
    assert [e.record.action for e in entries].count("root_key.revoke") == 1
    assert keystead.leaks.counts["scanner", "revoked"] == 1


async def test_a_root_key_revoked_before_is_already_revoked(
    keystead: Keystead, admin: Principal
) -> None:
    leaked = await keystead.root_keys.create(admin, name="old")
    await keystead.root_keys.revoke(admin, leaked.root_key.id)

    [answer] = await keystead.leaks.report(admin, [_report(leaked.plaintext)])

    assert (answer.status, answer.outcome) == ("already_revoked", "already_revoked")
    record = await keystead.leaks.leak_of(admin.workspace_id, leaked.root_key.id)
    assert record is not None and record.outcome == "already_revoked"


async def test_a_root_key_of_another_workspace_is_unknown_and_untouched(
    keystead: Keystead, admin: Principal
) -> None:
    other = await keystead.workspaces.create("other")
    reporter = await _reporter(keystead, admin, "*")

    [answer] = await keystead.leaks.report(reporter, [_report(other.root_key.plaintext)])

    assert (answer.status, answer.outcome, answer.key_id) == ("unknown", "unknown", None)
    assert await _works(keystead, other.root_key.plaintext)
    their_id = other.root_key.root_key.id
    assert await keystead.leaks.leak_of(other.workspace.id, their_id) is None
    assert await keystead.leaks.leak_of(admin.workspace_id, their_id) is None


@pytest.mark.parametrize(
    ("perms", "narrowed"),
    [
        (("leaks.report", "root_keys.read", "keys.read"), False),
        (("leaks.report", "root_keys.revoke"), False),
        (("leaks.report", "root_keys.revoke", "keys.read"), True),
    ],
    ids=["no-root_keys.revoke", "holds-less-than-the-key", "narrowed-to-an-api"],
)
async def test_a_reporter_that_may_not_revoke_the_root_key_leaves_it_working(
    keystead: Keystead, admin: Principal, perms: tuple[str, ...], narrowed: bool
) -> None:
    leaked = await keystead.root_keys.create(admin, name="ci", permissions=["keys.read"])
    api_ids = [(await keystead.apis.create(admin, name="one")).id] if narrowed else None
    created = await keystead.root_keys.create(admin, permissions=list(perms), api_ids=api_ids)
    reporter = await keystead.root_keys.authenticate(created.plaintext)

    [answer] = await keystead.leaks.report(reporter, [_report(leaked.plaintext)])

    assert (answer.status, answer.outcome) == ("unknown", "unknown")
    assert await _works(keystead, leaked.plaintext)
    assert await keystead.leaks.leak_of(admin.workspace_id, leaked.root_key.id) is None


async def test_github_acts_only_on_root_keys_of_its_workspaces(
    keystead: Keystead, admin: Principal
) -> None:
    other = await keystead.workspaces.create("other")
    mine = await keystead.root_keys.create(admin, name="ci")
    reports = [_report(mine.plaintext), _report(other.root_key.plaintext)]

    ours, theirs = await keystead.leaks.report_github(reports, [admin.workspace_id])

    assert (ours.status, ours.outcome, ours.key_id) == ("live", "revoked", mine.root_key.id)
    assert (theirs.status, theirs.outcome) == ("unknown", "unknown")
    assert not await _works(keystead, mine.plaintext)
    assert await _works(keystead, other.root_key.plaintext)
    record = await keystead.leaks.leak_of(admin.workspace_id, mine.root_key.id)
    assert record is not None and record.reported_by == "leak:github"


async def test_a_well_formed_root_key_that_does_not_exist_is_unknown(
    keystead: Keystead, admin: Principal
) -> None:
    leaked = await keystead.root_keys.create(admin, name="ci")

    [answer] = await keystead.leaks.report(admin, [_report(keyformat.generate(ROOT_PREFIX))])

    assert (answer.status, answer.outcome) == ("unknown", "unknown")
    assert await _works(keystead, leaked.plaintext)
    assert (await keystead.leaks.list(admin)).items == []
