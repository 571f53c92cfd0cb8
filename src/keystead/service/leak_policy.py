"""What a leaked key's report does, per workspace and per API.

``revoke`` (the default) is the compromise procedure: revoke now, the
``key.compromised`` event, an incident, and with ``replace`` a successor held in
a pickup for the owner. ``rotate`` issues the successor and lets the leaked key
work for ``grace_period_s`` more (the key's rotation policy when None), for keys
that cannot be cut off at once. ``notify`` changes nothing but tells: the event
and the incident. An API's policy, when set, wins over the workspace's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from keystead.core.authz import Principal
from keystead.core.rotation import MAX_SPAN_S
from keystead.errors import Forbidden, NotFound, ValidationError
from keystead.service.context import ServiceContext
from keystead.store.leaks import LeakPolicy

ACTIONS = ("revoke", "rotate", "notify")
WHOLE_WORKSPACE = (
    "the workspace's leak policy spans every API: a root key narrowed to APIs or an owner "
    "may set an API's policy only"
)
OWNER_NARROWED = (
    "an API's leak policy applies to every owner's keys: a root key narrowed to an owner "
    "cannot set it"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def default_policy(workspace_id: str) -> LeakPolicy:
    """Revoke, tell the webhooks, no replacement: what applies until a policy is set."""
    return LeakPolicy(workspace_id, None, "revoke", None, False, True, _EPOCH)


@dataclass(slots=True, frozen=True)
class PolicyView:
    """The workspace's policy and an API's (None where unset), and the one that applies."""

    workspace: LeakPolicy | None
    api: LeakPolicy | None
    effective: LeakPolicy


def check_policy(
    action: object, grace_period_s: object, replace: object, notify: object
) -> tuple[str, int | None, bool, bool]:
    if not isinstance(action, str) or action not in ACTIONS:
        raise ValidationError(f"action is one of {', '.join(ACTIONS)}", field="action")
    if grace_period_s is not None:
        if action != "rotate":
            raise ValidationError(
                "grace_period_s goes with the rotate action only", field="grace_period_s"
            )
        if (
            isinstance(grace_period_s, bool)
            or not isinstance(grace_period_s, int)
            or not 0 <= grace_period_s <= MAX_SPAN_S
        ):
            raise ValidationError(
                f"grace_period_s is a whole number of seconds, 0 to {MAX_SPAN_S}",
                field="grace_period_s",
            )
    if not isinstance(replace, bool):
        raise ValidationError("replace is true or false", field="replace")
    if replace and action != "revoke":
        raise ValidationError("replace goes with the revoke action only", field="replace")
    if not isinstance(notify, bool):
        raise ValidationError("notify is true or false", field="notify")
    return action, grace_period_s, replace, notify


class LeakPolicies:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def get(self, principal: Principal, api_id: str | None = None) -> PolicyView:
        """Needs ``incidents.read``; with ``api_id``, an API the caller sees."""
        principal.require("incidents.read")
        if api_id is not None:
            await self._api(principal, api_id)
        return await self._view(principal.workspace_id, api_id)

    async def set(
        self,
        principal: Principal,
        *,
        action: str,
        api_id: str | None = None,
        grace_period_s: int | None = None,
        replace: bool = False,
        notify: bool = True,
    ) -> PolicyView:
        """Needs ``incidents.write``; the workspace's policy a root key narrowed to
        neither APIs nor an owner."""
        checked = check_policy(action, grace_period_s, replace, notify)
        await self._writable(principal, api_id)
        policy = LeakPolicy(principal.workspace_id, api_id, *checked, self._ctx.now())
        before = await self._view(principal.workspace_id, api_id)
        self._ctx.audit(
            principal,
            "leak_policy.update",
            "leak_policy",
            api_id or principal.workspace_id,
            before=before.api if api_id else before.workspace,
            after=policy,
        )
        await self._ctx.store.put_leak_policy(policy)
        return await self._view(principal.workspace_id, api_id)

    async def clear(self, principal: Principal, api_id: str | None = None) -> PolicyView:
        """Back to the workspace's policy (an API's) or to the default (the workspace's)."""
        await self._writable(principal, api_id)
        self._ctx.audit(
            principal, "leak_policy.delete", "leak_policy", api_id or principal.workspace_id
        )
        await self._ctx.store.delete_leak_policy(principal.workspace_id, api_id)
        return await self._view(principal.workspace_id, api_id)

    async def effective(self, workspace_id: str, api_id: str) -> LeakPolicy:
        """The policy a leak of a key of ``api_id`` follows."""
        return (await self._view(workspace_id, api_id)).effective

    async def _view(self, workspace_id: str, api_id: str | None) -> PolicyView:
        found = await self._ctx.store.list_leak_policies(workspace_id)
        workspace = next((p for p in found if p.api_id is None), None)
        api = None if api_id is None else next((p for p in found if p.api_id == api_id), None)
        effective = api or workspace or default_policy(workspace_id)
        return PolicyView(workspace, api, effective)

    async def _writable(self, principal: Principal, api_id: str | None) -> None:
        """The workspace's policy: a root key narrowed to nothing. An API's: one
        that sees the API (else 404) and is not narrowed to an owner (an API's
        policy applies to every owner's keys, as its settings do)."""
        if api_id is None:
            principal.require_whole_workspace("incidents.write", WHOLE_WORKSPACE)
            return
        principal.require("incidents.write")
        await self._api(principal, api_id)
        if principal.owner_id is not None:
            raise Forbidden(OWNER_NARROWED)

    async def _api(self, principal: Principal, api_id: str) -> None:
        api = None
        if isinstance(api_id, str) and len(api_id) <= 40:
            api = await self._ctx.store.get_api(principal.workspace_id, api_id)
        if api is None or not principal.sees_api(api.id):
            raise NotFound(f"no API '{api_id}'")


__all__ = ["ACTIONS", "LeakPolicies", "PolicyView", "check_policy", "default_policy"]
