"""A principal's scope over other root keys, owners, and the root permission names."""

from __future__ import annotations

import pytest

from keystead.core.authz import ROOT_PERMISSIONS, Principal, check_root_permissions
from keystead.core.permissions import GrantSet
from keystead.errors import ValidationError


def principal(
    grants: list[str], api_ids: set[str] | None = None, owner_id: str | None = None
) -> Principal:
    return Principal(
        workspace_id="ws_1",
        actor="root_key:rk_1",
        grants=GrantSet(grants),
        api_ids=None if api_ids is None else frozenset(api_ids),
        owner_id=owner_id,
    )


def test_a_root_key_encloses_only_the_same_or_narrower_scope() -> None:
    wide = principal(["*"])
    by_api = principal(["*"], api_ids={"api_a", "api_b"})
    by_owner = principal(["keys.*", "root_keys.revoke"], owner_id="acme")
    assert wide.encloses(["*"], None, None)
    assert wide.encloses(["keys.read"], ["api_a"], "acme")
    assert by_api.encloses(["*"], ["api_a"], None)
    assert by_api.encloses(["*"], ["api_a", "api_b"], "acme")
    assert by_api.encloses(["*"], [], None)
    assert not by_api.encloses(["*"], None, None)  # every API: more than two
    assert not by_api.encloses(["keys.read"], ["api_a", "api_c"], None)
    assert by_owner.encloses(["keys.*"], None, "acme")
    assert by_owner.encloses(["keys.read", "root_keys.revoke"], ["api_a"], "acme")
    assert not by_owner.encloses(["keys.read"], None, None)  # every owner
    assert not by_owner.encloses(["keys.read"], None, "globex")
    assert not by_owner.encloses(["*"], None, "acme")
    assert not by_owner.encloses(["root_keys.*"], None, "acme")


def test_an_owner_narrowed_principal_keeps_objects_its_owner() -> None:
    by_owner = principal(["*"], owner_id="acme")
    assert by_owner.owner_within(None) == "acme"
    assert by_owner.owner_within("acme") == "acme"
    with pytest.raises(ValidationError) as refused:
        by_owner.owner_within("globex")
    assert refused.value.field == "owner_id"
    assert principal(["*"]).owner_within("globex") == "globex"
    assert principal(["*"]).owner_within(None) is None


def test_owner_settings_are_seen_whole_or_not_at_all() -> None:
    assert principal(["*"]).sees_whole_owner("acme")
    assert principal(["*"], owner_id="acme").sees_whole_owner("acme")
    assert not principal(["*"], owner_id="acme").sees_whole_owner("globex")
    assert not principal(["*"], api_ids={"api_a"}).sees_whole_owner("acme")


@pytest.mark.parametrize("good", [*ROOT_PERMISSIONS, "*", "keys.*", "*.read", "root_keys.*"])
def test_known_root_permissions_and_useful_wildcards_pass(good: str) -> None:
    check_root_permissions([good])


@pytest.mark.parametrize("bad", ["god.mode", "keys", "keys.fly", "nothing.*", "*.fly", "a.*.b"])
def test_a_root_permission_that_names_nothing_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_root_permissions(["keys.read", bad])
    assert refused.value.field == "permissions[1]"
    assert bad in str(refused.value)
