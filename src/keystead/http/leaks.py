"""``/v1/leaks``: leaked keys reported, and the response to them.

``POST /v1/leaks`` takes reports from a workspace's reporters (a root key with
``leaks.report``: the scanner's ``--report``, people). ``POST /v1/leaks/github``
speaks GitHub's secret scanning partner format: it is authenticated by GitHub's
signature over the raw body, not by a root key, and acts on keys of the
workspaces ``KEYSTEAD_GITHUB_LEAK_WORKSPACES`` names (``*``: each key in its own).
Without ``KEYSTEAD_GITHUB_KEYS_URL`` it answers 404. A missing, unknown or wrong
signature is a 401 before the body is even parsed: nothing is looked up or done.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request

from keystead.core.leak_signature import verify
from keystead.errors import NotFound, Unauthorized, ValidationError
from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import PageSize
from keystead.http.leak_schemas import (
    AnswersOut,
    FeedbackOut,
    LeakOut,
    LeakPage,
    PolicyIn,
    PolicyViewOut,
    ReportsIn,
    answer_out,
    feedback_out,
    leak_out,
    view_out,
)
from keystead.http.openapi import COMMON, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId
from keystead.service import Keystead
from keystead.service.leaks import GITHUB_MAX_REPORTS, LeakReport

router = make_router(tags=["leaks"])
github_router = APIRouter(tags=["leaks"])
"""The GitHub route: a plain route, since it takes no root key."""

GITHUB_PATH = "/v1/leaks/github"
BAD_SIGNATURE = "the request is not signed by a GitHub secret scanning key"
ApiFilter = Annotated[ObjectId | None, Query(description="an API's policy; none: the workspace's")]


@router.post("/v1/leaks", summary="Report leaked keys", responses=WITH_BODY)
async def report_leaks(body: ReportsIn, ks: Service, principal: Auth) -> AnswersOut:
    """Needs ``leaks.report``. Per token, in order: ``live`` (handled now by its leak
    policy: revoked, rotated or notified, with the incident), ``already_revoked``
    or ``unknown`` (not a well-formed key, or not one of this workspace the caller
    sees). Reporting a key again answers the same and does nothing more."""
    reports = [
        LeakReport(
            token=r.token, source=r.source, url=r.url, exposed_at=r.exposed_at, token_type=r.type
        )
        for r in body.reports
    ]
    answers = await ks.leaks.report(principal, reports)
    return AnswersOut(items=[answer_out(a) for a in answers])


@router.get("/v1/leaks", summary="List reported leaks")
async def list_leaks(
    ks: Service,
    principal: Auth,
    key_id: Annotated[ObjectId | None, Query(description="only of this key")] = None,
    cursor: Annotated[
        ObjectId | None, Query(description="next_cursor of the previous page")
    ] = None,
    limit: PageSize = 100,
) -> LeakPage:
    """Needs ``incidents.read``. Oldest first."""
    page = await ks.leaks.list(principal, key_id=key_id, cursor=cursor, limit=limit)
    return LeakPage(items=[leak_out(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/v1/leaks/policy", summary="Get the leak policy", responses=FOUND)
async def get_leak_policy(ks: Service, principal: Auth, api_id: ApiFilter = None) -> PolicyViewOut:
    """Needs ``incidents.read``. The workspace's policy, the API's, and the one a
    leak of the API's keys follows (default: revoke and notify)."""
    return view_out(await ks.leaks.policies.get(principal, api_id))


@router.put("/v1/leaks/policy", summary="Set the leak policy", responses={**WITH_BODY, **FOUND})
async def set_leak_policy(body: PolicyIn, ks: Service, principal: Auth) -> PolicyViewOut:
    """Needs ``incidents.write`` (the workspace's: a root key narrowed to neither APIs
    nor an owner). ``revoke`` (``replace``: a successor held in a pickup), ``rotate``
    (``grace_period_s``, default the key's rotation policy) or ``notify``."""
    view = await ks.leaks.policies.set(
        principal,
        action=body.action,
        api_id=body.api_id,
        grace_period_s=body.grace_period_s,
        replace=body.replace,
        notify=body.notify,
    )
    return view_out(view)


@router.delete("/v1/leaks/policy", summary="Clear a leak policy", responses=FOUND)
async def clear_leak_policy(
    ks: Service, principal: Auth, api_id: ApiFilter = None
) -> PolicyViewOut:
    """Needs ``incidents.write``. The next policy up applies again."""
    return view_out(await ks.leaks.policies.clear(principal, api_id))


@router.get("/v1/leaks/{leak_id}", summary="Get a reported leak", responses=FOUND)
async def get_leak(
    leak_id: Annotated[ObjectId, Path(description="the leak's id (lk_...)")],
    ks: Service,
    principal: Auth,
) -> LeakOut:
    """Needs ``incidents.read``."""
    return leak_out(await ks.leaks.get(principal, leak_id))


@github_router.post(
    GITHUB_PATH,
    summary="GitHub secret scanning partner endpoint",
    responses={**COMMON, **WITH_BODY, **FOUND},
)
async def github_leaks(request: Request) -> list[FeedbackOut]:
    """GitHub's format: a JSON array of ``{token, type, url, source}``, signed with
    ECDSA P-256 SHA-256 (``Github-Public-Key-Identifier``,
    ``Github-Public-Key-Signature``). Answers the feedback array: per token its
    ``token_hash``, ``token_type`` and ``label`` (true_positive: a key of ours)."""
    ks: Keystead | None = getattr(request.app.state, "keystead", None)
    if ks is None:
        raise NotFound("the service is not running")
    keys = ks.leaks.github
    if keys is None:
        raise NotFound("GitHub leak reports are off: set KEYSTEAD_GITHUB_KEYS_URL")
    identifier = request.headers.get("github-public-key-identifier", "")
    signature = request.headers.get("github-public-key-signature", "")
    if not identifier or not signature or len(identifier) > 200:
        raise Unauthorized(BAD_SIGNATURE)
    body = await request.body()
    key = await keys.key(identifier)
    if key is None or not verify(body, signature, key):
        raise Unauthorized(BAD_SIGNATURE)
    reports = _github_reports(body)
    answers = await ks.leaks.report_github(reports, ks.settings.github_leak_workspaces)
    return [feedback_out(a) for a in answers]


def _github_reports(body: bytes) -> list[LeakReport]:
    try:
        items: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValidationError("the body is not JSON") from None
    if not isinstance(items, list) or not 1 <= len(items) <= GITHUB_MAX_REPORTS:
        raise ValidationError("the body is a JSON array of {token, type, url, source}")
    reports = []
    for index, item in enumerate(items):
        token = item.get("token") if isinstance(item, dict) else None
        if not isinstance(token, str) or not token:
            raise ValidationError("each match has a token", field=f"[{index}].token")
        url, kind = item.get("url"), item.get("type")
        reports.append(
            LeakReport(
                token=token,
                source="github",
                url=url[:2000] if isinstance(url, str) and url else None,
                token_type=kind[:200] if isinstance(kind, str) and kind else None,
            )
        )
    return reports


__all__ = ["GITHUB_PATH", "github_router", "router"]
