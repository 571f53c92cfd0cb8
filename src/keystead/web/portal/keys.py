"""The portal's home (``/portal/``: the owner's keys and usage) and key
creation (``/portal/keys/new``) within the limits the provider set.

Every read and write is the service's, with the session's principal: it is
narrowed to the link's owner (and APIs), so the service scopes each list and
refuses each key of another owner as not found. A key is created through
``ks.web_sessions.create_portal_key``, which applies what the provider set
(``Branding.key_defaults``) and refuses a key past ``max_keys_per_owner``; the
pages count the owner's keys only to say how many remain.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keystead.core.models import Key
from keystead.errors import Conflict, ValidationError
from keystead.web.pages import formvalues, overview
from keystead.web.pages.keys import can
from keystead.web.routing import WebRequest, action, data, page

PAGE_SIZE = 50
_COUNT_PAGE = 1000
LIVE_STATES = frozenset({"active", "disabled", "pending"})


def counts_toward_limit(key: Key, now: float) -> bool:
    """A key the owner holds, as ``create_portal_key`` counts them: neither
    revoked nor expired (a rolled key counts until its grace period ends)."""
    return key.state_at(now) in LIVE_STATES


async def held_keys(req: WebRequest, stop_at: int | None = None) -> int:
    """How many keys the owner holds (``counts_toward_limit``), counting no
    further than ``stop_at``."""
    now = req.ks.clock.now()
    held = 0
    cursor: str | None = None
    while True:
        found = await req.ks.keys.list(req.principal, cursor=cursor, limit=_COUNT_PAGE)
        held += sum(1 for key in found.items if counts_toward_limit(key, now))
        if found.next_cursor is None or (stop_at is not None and held >= stop_at):
            return held
        cursor = found.next_cursor


async def api_choices(req: WebRequest) -> list[tuple[str, str]]:
    """``(api_id, label)`` of the APIs a new key may belong to: the link's
    APIs, else those of the owner's first ``_COUNT_PAGE`` keys (a portal
    session may not list APIs: each is labelled by its keys' prefix)."""
    found = await req.ks.keys.list(req.principal, limit=_COUNT_PAGE)
    prefixes: dict[str, str] = {}
    for key in found.items:
        prefixes.setdefault(key.api_id, key.prefix.split("_")[0])
    allowed = req.principal.api_ids
    ids = sorted(allowed) if allowed is not None else sorted(prefixes)
    return [(i, f"{prefixes[i]}_… keys" if i in prefixes else i) for i in ids]


def limit_reached(max_keys: int) -> str:
    return (
        f"You already hold the {max_keys} keys your provider allows. "
        "Revoke a key you no longer use to create another."
    )


async def _limits(req: WebRequest) -> dict[str, Any]:
    """What the pages say about the key limit: held, allowed, reached (no
    counting when the provider set no limit)."""
    max_keys = req.branding.max_keys_per_owner
    if max_keys is None:
        return {"held": None, "max_keys": None, "at_limit": False}
    held = await held_keys(req)
    return {"held": held, "max_keys": max_keys, "at_limit": held >= max_keys}


@page("/portal/", area="portal")
async def home(req: WebRequest) -> Response:
    found = await req.ks.keys.list(req.principal, cursor=req.query("cursor"), limit=PAGE_SIZE)
    now = req.ks.clock.now()
    return req.render(
        "portal/keys/index.html",
        rows=[(key, key.state_at(now)) for key in found.items],
        next_cursor=found.next_cursor,
        may_create=can(req, "keys.create"),
        usage=can(req, "usage.read") and req.principal.api_ids is None,
        owner_id=req.session.owner_id,
        **await _limits(req),
    )


data("/portal/data/usage", area="portal")(overview.requests_data)
"""The owner's verifications over time: the overview's series, which for an
owner-narrowed principal is that owner's."""


async def _new_form(
    req: WebRequest,
    *,
    values: dict[str, str] | None = None,
    error: ValidationError | None = None,
    refused: str | None = None,
    status: int = 200,
) -> Response:
    limits = await _limits(req)
    return req.render(
        "portal/keys/new.html",
        status=status,
        apis=await api_choices(req),
        values=values or {},
        error=error,
        refused=refused or (limit_reached(limits["max_keys"]) if limits["at_limit"] else None),
        expires_in_s=req.branding.key_defaults.get("expires_in_s"),
        **limits,
    )


@page("/portal/keys/new", area="portal")
async def new_key(req: WebRequest) -> Response:
    req.principal.require("keys.create")
    return await _new_form(req)


@action("/portal/keys/new", area="portal")
async def create_key(req: WebRequest) -> Response:
    """``ks.web_sessions.create_portal_key``: the provider's key defaults and
    its ``max_keys_per_owner``, checked by the service."""
    form = await req.form()
    values = {k: v for k, v in form.items() if k != "csrf" and isinstance(v, str)}
    choices = dict(await api_choices(req))
    api_id = formvalues.text(form, "api_id")
    if api_id is None and len(choices) == 1:
        api_id = next(iter(choices))
    spec: dict[str, Any] = {"api_id": api_id}
    name = formvalues.text(form, "name")
    if name is not None:
        spec["name"] = name
    try:
        if api_id is None or api_id not in choices:
            raise ValidationError("Choose one of the APIs listed.", field="api_id")
        created = await req.ks.web_sessions.create_portal_key(req.principal, spec)
    except ValidationError as exc:
        return await _new_form(req, values=values, error=exc, status=422)
    except Conflict as exc:
        max_keys = req.branding.max_keys_per_owner
        refused = exc.detail if max_keys is None else limit_reached(max_keys)
        return await _new_form(req, values=values, refused=refused, status=409)
    return req.render(
        "portal/keys/created.html",
        status=201,
        heading="Key created",
        key=created.key,
        plaintext=created.plaintext,
    )


__all__ = ["api_choices", "counts_toward_limit", "held_keys"]
