"""Path-scoped secrets permissions: the grant matrix, admin, enclosing and root-key checks."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.core.authz import ROOT_PERMISSIONS, Principal, check_root_permissions
from keystead.core.permissions import (
    MAX_SCOPED_PERMISSION_LENGTH,
    GrantSet,
    PermissionQuery,
    validate_permission,
)
from keystead.core.secret_grants import SECRET_ACTIONS, SECRET_PERMISSIONS, allows_secret
from keystead.errors import Forbidden, ValidationError


def principal(*grants: str) -> Principal:
    return Principal(workspace_id="ws_1", actor="root_key:rk_1", grants=GrantSet(grants))


# --- the grant matrix --------------------------------------------------------------------------

MATRIX = [
    # (grant, action, mount, path, allowed)
    ("secrets.read:secret/payments/*", "read", "secret", "payments/stripe", True),
    ("secrets.read:secret/payments/*", "read", "secret", "payments/a/b", True),
    ("secrets.read:secret/payments/*", "read", "secret", "payments/a/b/c/d", True),
    ("secrets.read:secret/payments/*", "read", "secret", "/payments/stripe/", True),
    ("secrets.read:secret/payments/*", "read", "secret", "payments", False),
    ("secrets.read:secret/payments/*", "read", "secret", "paymentsX", False),
    ("secrets.read:secret/payments/*", "read", "secret", "paymentsX/stripe", False),
    ("secrets.read:secret/payments/*", "read", "secret", "other", False),
    ("secrets.read:secret/payments/*", "read", "secret", "Payments/stripe", False),
    ("secrets.read:secret/payments/*", "read", "kv", "payments/stripe", False),
    ("secrets.read:secret/payments/*", "write", "secret", "payments/stripe", False),
    ("secrets.read:secret/payments/*", "list", "secret", "payments", False),
    ("secrets.read:secret/payments", "read", "secret", "payments", True),
    ("secrets.read:secret/payments", "read", "secret", "payments/stripe", False),
    ("secrets.read:secret/*", "read", "secret", "anything/at/all", True),
    ("secrets.read:secret/*", "read", "kv", "anything", False),
    ("secrets.read:secret/*/stripe", "read", "secret", "payments/stripe", True),
    ("secrets.read:secret/*/stripe", "read", "secret", "billing/stripe", True),
    ("secrets.read:secret/*/stripe", "read", "secret", "a/b/stripe", False),
    ("secrets.read:secret/*/stripe", "read", "secret", "payments/stripe/x", False),
    ("secrets.read:secret/*/stripe/*", "read", "secret", "eu/stripe/live", True),
    ("secrets.read:secret/café/*", "read", "secret", "cafe\u0301/menu", True),  # NFC
    ("secrets.read", "read", "secret", "payments/stripe", True),
    ("secrets.read", "read", "kv", "x", True),
    ("secrets.read", "write", "secret", "payments/stripe", False),
    ("secrets.*", "destroy", "kv", "x/y", True),
    ("secrets.*:secret/payments/*", "destroy", "secret", "payments/stripe", True),
    ("secrets.*:secret/payments/*", "destroy", "secret", "billing/stripe", False),
    ("*", "write", "secret", "x", True),
    ("*.read", "read", "secret", "x", True),
    ("*.read", "write", "secret", "x", False),
    ("secrets.admin", "destroy", "secret", "x", True),
    ("secrets.admin:secret/payments/*", "read", "secret", "payments/stripe", True),
    ("secrets.admin:secret/payments/*", "write", "secret", "payments/stripe", True),
    ("secrets.admin:secret/payments/*", "admin", "secret", "payments/stripe", True),
    ("secrets.admin:secret/payments/*", "list", "secret", "payments", True),
    ("secrets.admin:secret/payments/*", "read", "secret", "billing/stripe", False),
    ("secrets.write:secret/payments/*", "admin", "secret", "payments/stripe", False),
    ("secrets.write:secret/payments/*", "read", "secret", "payments/stripe", False),
    # listing a folder asks for every secret below it
    ("secrets.list:secret/payments/*", "list", "secret", "payments", True),
    ("secrets.list:secret/payments/*", "list", "secret", "payments/eu", True),
    ("secrets.list:secret/payments/*", "list", "secret", "", False),
    ("secrets.list:secret/payments/*", "list", "secret", "paymentsX", False),
    ("secrets.list:secret/payments", "list", "secret", "payments", False),
    ("secrets.list:secret/*", "list", "secret", "", True),
    ("secrets.list:secret/*", "list", "secret", "/", True),
    ("secrets.list", "list", "kv", "", True),
    # permissions of the key world cover nothing of the secrets
    ("keys.*", "read", "secret", "x", False),
    ("documents.read:secret/payments/*", "read", "secret", "payments/stripe", False),
]


@pytest.mark.parametrize(("grant", "action", "mount", "path", "allowed"), MATRIX)
def test_the_grant_matrix(grant: str, action: str, mount: str, path: str, allowed: bool) -> None:
    assert principal(grant).may(action, mount, path) is allowed
    assert allows_secret(GrantSet([grant]), action, mount, path) is allowed


@pytest.mark.parametrize("action", SECRET_ACTIONS)
def test_deny_by_default(action: str) -> None:
    assert not principal().may(action, "secret", "payments")
    assert not principal("keys.read", "root_keys.*", "apis.*").may(action, "secret", "payments")


def test_every_action_of_a_scope_is_covered_by_its_wildcards_and_admin() -> None:
    for grant in ("*", "secrets.*", "secrets.admin", "secrets.admin:secret/a/*"):
        for action in SECRET_ACTIONS:
            assert principal(grant).may(action, "secret", "a/b"), (grant, action)


@pytest.mark.parametrize(
    "path",
    [
        "payments/../admin",
        "payments/../../admin",
        "payments/./../admin",
        "payments/%2e%2e/admin",
        "payments%2f..%2fadmin",
        "payments/..%2fadmin",
        "payments\\..\\admin",
        "payments/\x00/../admin",
        "payments//admin",
        "payments/*",
        "payments/\uff0e\uff0e/admin",
    ],
)
def test_a_crafted_path_is_refused_before_any_matching(path: str) -> None:
    wide = principal("secrets.read:secret/payments/*")
    with pytest.raises(ValidationError) as refused:
        wide.may("read", "secret", path)
    assert refused.value.field == "path"
    with pytest.raises(ValidationError):
        principal("*").may("read", "secret", path)  # even for a key that could read it all


def test_an_unknown_action_or_bad_mount_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as refused:
        principal("*").may("sudo", "secret", "a")
    assert refused.value.field == "action"
    with pytest.raises(ValidationError) as refused:
        principal("*").may("read", "sys", "a")
    assert refused.value.field == "mount"


def test_require_secret_is_forbidden_without_the_grant() -> None:
    reader = principal("secrets.read:secret/payments/*")
    reader.require_secret("read", "secret", "payments/stripe")
    with pytest.raises(Forbidden, match=re.escape("secrets.write")):
        reader.require_secret("write", "secret", "payments/stripe")


# --- syntax --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "permission",
    [
        "secrets.read:secret/payments/*",
        "secrets.read:secret/payments",
        "secrets.*:secret/*",
        "secrets.read:secret/*/stripe",
        "secrets.read:secret/café",
        "secrets.read:kv-2/a.b/c@d",
        "x:y.read:secret/a",  # a name may hold ':'; the mount starts after the last one
    ],
)
def test_scoped_permissions_are_valid(permission: str) -> None:
    assert validate_permission(permission) == permission
    assert PermissionQuery.parse(f"{permission} AND NOT keys.read").atoms() == {
        permission,
        "keys.read",
    }


@pytest.mark.parametrize(
    ("permission", "reason"),
    [
        ("secret/payments", "name:mount/path"),
        ("secrets.read:/payments", "mount ''"),
        ("secrets.read:secret/", "path is empty"),
        ("secrets.read:secret//a", "empty segment"),
        ("secrets.read:secret/a/", "empty segment"),
        ("secrets.read:secret/../admin", "dot segment"),
        ("secrets.read:secret/a/../b", "dot segment"),
        ("secrets.read:secret/%2e%2e/b", "'%'"),
        ("secrets.read:secret/a\\b", "backslash"),
        ("secrets.read:secret/pay*", "mixes '*'"),
        ("secrets.read:secret/**", "'**'"),
        ("secrets.read:secret/a b", "U+0020"),
        ("secrets.read:Secret/a", "mount 'Secret'"),
        ("secrets.read:sys/a", "mount 'sys'"),
        ("secrets.read:*/a", "mount '*'"),
        ("secrets..read:secret/a", "name has an empty segment"),
        ("secrets.read:secret/cafe\u0301", "not in Unicode NFC"),
        ("secrets.read:secret/" + "a/" * 40 + "b", "more than 32 segments"),
        ("secrets.read:secret/" + "a" * 600, "path is longer than 512"),
        ("secrets.read:secret/" + "a" * 700, f"longer than {MAX_SCOPED_PERMISSION_LENGTH}"),
    ],
)
def test_bad_scoped_permissions_say_why(permission: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)) as refused:
        validate_permission(permission)
    assert refused.value.field == "permissions"


# --- root keys -----------------------------------------------------------------------------------


def test_root_keys_accept_the_secrets_permissions() -> None:
    assert set(SECRET_PERMISSIONS) <= set(ROOT_PERMISSIONS)
    check_root_permissions(
        [
            *SECRET_PERMISSIONS,
            "secrets.*",
            "secrets.read:secret/payments/*",
            "secrets.*:secret/payments/*",
            "secrets.admin:kv/*",
        ]
    )


@pytest.mark.parametrize(
    ("permission", "reason"),
    [
        ("god.mode", "unknown root key permission"),
        ("secrets.sudo", "unknown root key permission"),
        ("secrets.read.all", "unknown root key permission"),
        ("keys.read:secret/payments/*", "only secrets permissions take a path"),
        ("*:secret/payments/*", "only secrets permissions take a path"),
        ("secrets.sudo:secret/payments/*", "only secrets permissions take a path"),
        ("secrets.*.read:secret/payments/*", "only secrets permissions take a path"),
    ],
)
def test_root_keys_refuse_what_names_nothing(permission: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)) as refused:
        check_root_permissions(["keys.read", permission])
    assert refused.value.field == "permissions[1]"


# --- enclosing -----------------------------------------------------------------------------------

ENCLOSING = [
    # (holder's grants, another key's permission, enclosed)
    (["secrets.read:secret/a/*"], "secrets.read:secret/a/b/*", True),
    (["secrets.read:secret/a/*"], "secrets.read:secret/a/b", True),
    (["secrets.read:secret/a/*"], "secrets.read:secret/a/*", True),
    (["secrets.read:secret/a/*"], "secrets.read:secret/a/*/c", True),
    (["secrets.read:secret/a/*"], "secrets.read:secret/*", False),
    (["secrets.read:secret/a/*"], "secrets.read:secret/a", False),
    (["secrets.read:secret/a/*"], "secrets.read:secret/ab/*", False),
    (["secrets.read:secret/a/*"], "secrets.read:kv/a/*", False),
    (["secrets.read:secret/a/*"], "secrets.read", False),
    (["secrets.read:secret/a/*"], "secrets.write:secret/a/b", False),
    (["secrets.read:secret/a/*"], "secrets.*:secret/a/b", False),
    (["secrets.read:secret/*/b"], "secrets.read:secret/x/b", True),
    (["secrets.read:secret/*/b"], "secrets.read:secret/*/b", True),
    (["secrets.read:secret/x/b"], "secrets.read:secret/*/b", False),
    (["secrets.read:secret/a/*/*"], "secrets.read:secret/a/*", False),
    (["secrets.read:secret/a/*"], "secrets.read:secret/a/*/*", True),
    (["secrets.read"], "secrets.read:secret/anything/*", True),
    (["secrets.*"], "secrets.destroy:kv/x", True),
    (["secrets.*"], "secrets.admin", True),
    (["secrets.admin"], "secrets.read", True),
    (["secrets.admin"], "secrets.*", True),
    (["secrets.admin:secret/a/*"], "secrets.read:secret/a/b/*", True),
    (["secrets.admin:secret/a/*"], "secrets.*:secret/a/b", True),
    (["secrets.admin:secret/a/*"], "secrets.read:secret/b/*", False),
    (["secrets.admin:secret/a/*"], "secrets.read", False),
    (["secrets.read", "secrets.write"], "secrets.*", False),
    ([*(f"secrets.{a}:secret/a/*" for a in SECRET_ACTIONS)], "secrets.*:secret/a/*", True),
    (["secrets.*:secret/a/*"], "secrets.admin:secret/a/x", True),
    (["*"], "secrets.read:secret/a/*", True),
    (["keys.*"], "secrets.read:secret/a/*", False),
]


@pytest.mark.parametrize(("holder", "other", "enclosed"), ENCLOSING)
def test_a_principal_encloses_only_narrower_secret_grants(
    holder: list[str], other: str, enclosed: bool
) -> None:
    assert principal(*holder).encloses([other], None, None) is enclosed


def test_enclosing_needs_every_permission_of_the_other_key() -> None:
    holder = principal("keys.read", "secrets.read:secret/a/*")
    assert holder.encloses(["keys.read", "secrets.read:secret/a/b"], None, None)
    assert not holder.encloses(["keys.read", "secrets.read:secret/b"], None, None)


# --- properties ----------------------------------------------------------------------------------

_SEGMENT = st.sampled_from(["a", "b", "c", "*"])
_GLOB = st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join)
_PATH = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=5).map("/".join)


@settings(max_examples=300)
@given(_GLOB, _GLOB, _PATH)
def test_enclosing_agrees_with_matching(wide: str, narrow: str, path: str) -> None:
    """If a grant encloses another, it allows every path the other allows."""
    holder = principal(f"secrets.read:secret/{wide}")
    if holder.encloses([f"secrets.read:secret/{narrow}"], None, None):
        if principal(f"secrets.read:secret/{narrow}").may("read", "secret", path):
            assert holder.may("read", "secret", path)
