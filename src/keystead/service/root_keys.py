"""Root keys: the management credentials of a workspace."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from keystead.core import keyformat
from keystead.core.authz import Principal, check_root_permissions
from keystead.core.ids import new_id
from keystead.core.models import CreatedRootKey, RootKey
from keystead.core.permissions import GrantSet, validate_permission
from keystead.errors import NotFound, Unauthorized, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.secret_lookup import find_root_key_under_older

ROOT_PREFIX = "ksroot"
_UNAUTHORIZED = "a valid root key is required"


class RootKeyService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def authenticate(self, plaintext: str) -> Principal:
        """The principal of a root key; one vague error for every failure."""
        if not isinstance(plaintext, str) or len(plaintext) > keyformat.MAX_LENGTH:
            raise Unauthorized(_UNAUTHORIZED)
        digest = self._ctx.hasher.hash(plaintext)
        cached = self._ctx.root_keys.get(digest)
        # a cached principal's hash matched an issued root key's: that text is a
        # well-formed root key, so its shape is checked on the way to the store only
        if isinstance(cached, Principal):
            return cached
        if not keyformat.is_well_formed(plaintext) or not plaintext.startswith(ROOT_PREFIX + "_"):
            raise Unauthorized(_UNAUTHORIZED)
        if cached is None:
            raise Unauthorized(_UNAUTHORIZED)
        root_key = await self._ctx.store.find_root_key(digest)
        if root_key is None and self._ctx.older_hashers:
            root_key = await find_root_key_under_older(self._ctx, plaintext)
        if root_key is None or root_key.revoked_at is not None:
            self._ctx.root_keys.put(digest, None, None if root_key is None else root_key.id)
            raise Unauthorized(_UNAUTHORIZED)
        # a root key's permissions never change, so its principal is built once
        principal = Principal(
            workspace_id=root_key.workspace_id,
            actor=f"root_key:{root_key.id}",
            grants=GrantSet(root_key.permissions),
            api_ids=None if root_key.api_ids is None else frozenset(root_key.api_ids),
            owner_id=root_key.owner_id,
        )
        self._ctx.root_keys.put(digest, principal, root_key.id)
        return principal

    async def create(
        self,
        principal: Principal,
        *,
        name: str | None = None,
        permissions: Sequence[str] = ("*",),
        api_ids: Sequence[str] | None = None,
        owner_id: str | None = None,
    ) -> CreatedRootKey:
        """``owner_id`` narrows the new root key to that owner's keys (and
        pickups): what an owner's own automation is given."""
        principal.require("root_keys.create")
        perms = _permissions(permissions)
        for permission in perms:
            # a root key cannot hand out more than it holds
            if not principal.grants.covers(permission):
                raise ValidationError(
                    f"cannot grant '{permission}': the caller does not hold it",
                    field="permissions",
                )
        scoped = await self._api_scope(principal, api_ids)
        return await self.issue(
            principal.workspace_id,
            name=name,
            permissions=perms,
            api_ids=scoped,
            created_by=principal.actor,
            owner_id=principal.owner_within(fields.text(owner_id, "owner_id")),
            audit_as=principal,
        )

    async def list(self, principal: Principal) -> list[RootKey]:
        """The root keys within the caller's scope (``Principal.encloses``): the
        others are invisible, as another workspace's are."""
        principal.require("root_keys.read")
        return await self._within(principal)

    async def revoke(self, principal: Principal, root_key_id: str) -> RootKey:
        """Only a root key within the caller's scope, the caller's own included
        (a key may always revoke itself); any other is NOT_FOUND."""
        principal.require("root_keys.revoke")
        known = await self._within(principal)
        current = next((k for k in known if k.id == root_key_id), None)
        if current is None:
            raise NotFound(f"no root key '{root_key_id}'")
        at = self._ctx.now()
        self._ctx.audit(
            principal,
            "root_key.revoke",
            "root_key",
            current.id,
            before={"revoked_at": current.revoked_at},
            after={"revoked_at": current.revoked_at or at},
        )
        revoked = await self._ctx.store.revoke_root_key(
            principal.workspace_id, root_key_id, self._ctx.now()
        )
        if revoked is None:
            raise NotFound(f"no root key '{root_key_id}'")
        self._ctx.root_key_changed(revoked.id)
        return revoked

    async def _within(self, principal: Principal) -> builtins.list[RootKey]:
        return [
            k
            for k in await self._ctx.store.list_root_keys(principal.workspace_id)
            if principal.encloses(k.permissions, k.api_ids, k.owner_id)
        ]

    async def issue(
        self,
        workspace_id: str,
        *,
        name: str | None,
        permissions: Sequence[str] = ("*",),
        api_ids: Sequence[str] | None = None,
        created_by: str | None = None,
        owner_id: str | None = None,
        audit_as: Principal | None = None,
    ) -> CreatedRootKey:
        if name is not None and (not isinstance(name, str) or len(name) > fields.MAX_TEXT):
            raise ValidationError(f"a name is at most {fields.MAX_TEXT} characters", field="name")
        plaintext = keyformat.generate(ROOT_PREFIX)
        root_key = RootKey(
            id=new_id("rk", self._ctx.clock.now()),
            workspace_id=workspace_id,
            name=name,
            start=plaintext[: len(ROOT_PREFIX) + 1 + keyformat.START_BODY_CHARS],
            permissions=tuple(permissions),
            api_ids=None if api_ids is None else tuple(api_ids),
            created_at=self._ctx.now(),
            revoked_at=None,
            created_by=created_by,
            owner_id=owner_id,
        )
        if audit_as is not None:
            self._ctx.audit(audit_as, "root_key.create", "root_key", root_key.id, after=root_key)
        await self._ctx.store.insert_root_key(root_key, self._ctx.hasher.stored(plaintext))
        return CreatedRootKey(root_key, plaintext)

    async def _api_scope(
        self, principal: Principal, api_ids: Sequence[str] | None
    ) -> tuple[str, ...] | None:
        if api_ids is None:
            return None if principal.api_ids is None else tuple(sorted(principal.api_ids))
        if isinstance(api_ids, str) or len(api_ids) > fields.MAX_LIST:
            raise ValidationError(
                f"api_ids is a list of at most {fields.MAX_LIST} ids", field="api_ids"
            )
        for api_id in api_ids:
            visible = principal.sees_api(api_id) and await self._ctx.store.get_api(
                principal.workspace_id, api_id
            )
            if not visible:
                raise NotFound(f"no API '{api_id}'")
        return tuple(dict.fromkeys(api_ids))


def _permissions(values: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or len(values) > fields.MAX_LIST:
        raise ValidationError(
            f"permissions is a list of at most {fields.MAX_LIST} strings", field="permissions"
        )
    checked = [validate_permission(v, f"permissions[{i}]") for i, v in enumerate(values)]
    check_root_permissions(checked)
    return tuple(dict.fromkeys(checked))
