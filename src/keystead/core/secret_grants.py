"""Who may do what to which secret: the ``secrets.*`` permissions and their path globs.

A root key (a machine or service token) holds grants such as
``secrets.read:secret/payments/*``; ``GrantSet`` matches them (see ``permissions``).
This module adds what is particular to secrets:

- the actions: ``read``, ``write``, ``delete``, ``destroy``, ``list`` and ``admin``,
  and for the keys of a transit mount ``encrypt`` and ``decrypt``
  (``secrets.encrypt:transit/orders``; rewrap asks for both);
- ``secrets.admin`` on a scope implies every other action on that scope, so
  ``secrets.admin`` and ``secrets.*`` hold the same power;
- the path a caller names is validated and normalised (``secret_paths``) *before* it is
  matched, so a crafted path (``payments/../admin``) is a ValidationError, never a
  match;
- listing a folder ``F`` asks for ``secrets.list`` on ``F/*`` (every secret below it).

Path globs, as in the permission names: ``*`` is always a whole segment; inside a
path it matches exactly one segment (Vault's ``+``), last it matches one or more
segments at any depth (Vault's trailing ``/*``). ``secret/payments/*`` therefore
covers ``secret/payments/stripe`` and ``secret/payments/a/b`` but neither
``secret/payments`` itself nor ``secret/paymentsX``. There is no partial-segment
glob (Vault's ``secret/pay*``) and no ``**``.
"""

from __future__ import annotations

from keystead.core._query_syntax import split_scoped
from keystead.core.permissions import GrantSet
from keystead.core.secret_paths import normalize_mount, normalize_path
from keystead.errors import ValidationError

SECRET_ACTIONS: tuple[str, ...] = (
    "read",
    "write",
    "delete",
    "destroy",
    "list",
    "admin",
    "encrypt",
    "decrypt",
)
SECRET_PERMISSIONS: tuple[str, ...] = tuple(f"secrets.{action}" for action in SECRET_ACTIONS)
ADMIN = "admin"


def secret_permission(action: str, mount: str, path: str) -> str:
    """The scoped permission that ``action`` on ``mount/path`` asks for (no validation)."""
    return f"secrets.{action}:{mount}/{path}"


def allows_secret(grants: GrantSet, action: str, mount: str, path: str) -> bool:
    """Whether ``grants`` allow ``action`` on the secret ``mount/path``.

    For ``list`` the path is a folder (empty: the mount's top). Raises ValidationError
    for an unknown action or an invalid mount or path: a caller maps that to 400,
    and nothing is allowed by it.
    """
    if action not in SECRET_ACTIONS:
        raise ValidationError(f"unknown secrets action {action!r}", field="action")
    mount = normalize_mount(mount)
    path = normalize_path(path, allow_root=action == "list")
    if action == "list":
        path = f"{path}/*" if path else "*"
    return grants.covers(secret_permission(action, mount, path)) or grants.covers(
        secret_permission(ADMIN, mount, path)
    )


def _secret_actions(name: str) -> tuple[str, ...] | None:
    """The concrete actions a ``secrets.<action>`` or ``secrets.*`` name stands for,
    or None for any other name."""
    family, dot, action = name.partition(".")
    if family != "secrets" or not dot:
        return None
    if action == "*":
        return SECRET_ACTIONS
    return (action,) if action in SECRET_ACTIONS else None


def covers_permission(grants: GrantSet, permission: str) -> bool:
    """``grants.covers(permission)``, with ``secrets.admin`` implying the other actions.

    ``Principal.encloses`` asks this of every permission of another root key: a
    holder of ``secrets.admin:secret/a/*`` encloses ``secrets.read:secret/a/b/*``,
    and ``secrets.*`` on a scope is enclosed by ``secrets.admin`` on it.
    """
    if grants.covers(permission):
        return True
    name, scope = permission, ""
    if "/" in permission:
        name, mount, path = split_scoped(permission)
        scope = f":{mount}/{path}"
    actions = _secret_actions(name)
    if actions is None:
        return False
    for action in actions:
        if not (
            grants.covers(f"secrets.{action}{scope}") or grants.covers(f"secrets.{ADMIN}{scope}")
        ):
            return False
    return True


def scoped_root_permission_problem(permission: str) -> str | None:
    """Why a path-scoped root-key permission names nothing, or None: only
    ``secrets.<action>`` and ``secrets.*`` take a path."""
    name = split_scoped(permission)[0]
    if _secret_actions(name) is None:
        return (
            f"only secrets permissions take a path ({', '.join(SECRET_PERMISSIONS)} "
            "or secrets.*), e.g. secrets.read:secret/payments/*"
        )
    return None


__all__ = [
    "SECRET_ACTIONS",
    "SECRET_PERMISSIONS",
    "allows_secret",
    "covers_permission",
    "scoped_root_permission_problem",
    "secret_permission",
]
