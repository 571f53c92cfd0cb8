"""Which server-secret version new keys use, and which older ones a miss tries."""

from __future__ import annotations

from keystead.core.secret_versions import BASE, SecretVersion, schedule, with_base


def test_a_store_that_never_rotated_has_version_1_alone() -> None:
    assert with_base([]) == [BASE]
    plan = schedule([], now=100.0, tried=2)
    assert (plan.newest, plan.older, plan.next_change_at) == (1, (), None)


def test_a_pending_version_is_tried_but_not_hashed_under_until_its_time() -> None:
    versions = [SecretVersion(2, 100.0, 110.0)]
    before = schedule(versions, now=105.0, tried=2)
    assert (before.newest, before.older, before.next_change_at) == (1, (2,), 110.0)
    after = schedule(versions, now=110.0, tried=2)
    assert (after.newest, after.older, after.next_change_at) == (2, (1,), None)


def test_retired_versions_are_never_tried_and_the_bound_holds() -> None:
    versions = [
        SecretVersion(1, 0.0, 0.0, retired_at=50.0),
        SecretVersion(2, 10.0, 10.0),
        SecretVersion(3, 20.0, 20.0),
        SecretVersion(4, 30.0, 30.0),
    ]
    plan = schedule(versions, now=40.0, tried=1)
    assert (plan.newest, plan.older) == (4, (3,))
    assert schedule(versions, now=40.0, tried=5).older == (3, 2)
    # a retired newest is skipped: the newest active one before it is used
    versions[-1] = SecretVersion(4, 30.0, 30.0, retired_at=35.0)
    assert schedule(versions, now=40.0, tried=5).newest == 3
