"""``/ui/what-if``: replay the last N days of a plan's, a key's or an API's
recorded usage against a proposed limit set, on the server
(``ks.analytics.what_if``, the call ``POST /v1/analytics/what-if`` makes), and
show who would have been refused, how often and when.

The chart's series is embedded in the answer (``data-chart-inline``: JSON in
an escaped attribute, drawn by ui.js), so the replay runs once per POST.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import FormData
from starlette.responses import Response

from keystead.errors import KeysteadError, NotFound, ValidationError
from keystead.service.what_if import MAX_DAYS, WhatIf
from keystead.web.pages import formvalues, key_form
from keystead.web.pages.keys import QUOTA_PERIODS, apis_of, can, plans_of
from keystead.web.routing import WebRequest, action, page

DEFAULT_DAYS = 7
GRANULARITIES = (("hour", "Hour"), ("day", "Day"), ("minute", "Minute"))
RATELIMIT_ROWS = 2
TOP = 50
_KINDS = {"plan": "plan_id", "api": "api_id", "key": "key_id"}


async def _form(
    req: WebRequest,
    values: dict[str, Any],
    *,
    result: WhatIf | None = None,
    error: ValidationError | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {}
    if result is not None:
        context = {
            "result": result,
            "key_names": await _key_names(req, result),
            "chart_json": orjson.dumps(chart_payload(result)).decode(),
        }
    return req.render(
        "ui/what_if/index.html",
        status=status,
        plans=await plans_of(req),
        apis=await apis_of(req),
        values=values,
        error=error,
        rows=range(RATELIMIT_ROWS),
        periods=QUOTA_PERIODS,
        granularities=GRANULARITIES,
        max_days=MAX_DAYS,
        **context,
    )


@page("/ui/what-if")
async def what_if_page(req: WebRequest) -> Response:
    req.principal.require("usage.read")
    values: dict[str, Any] = {"days": str(DEFAULT_DAYS), "granularity": "hour"}
    for kind, name in _KINDS.items():
        given = req.query(name)
        if given is not None:
            values["target"] = f"{kind}:{given}" if kind != "key" else ""
            values["key_id"] = given if kind == "key" else ""
    return await _form(req, values)


def scope_of(form: FormData) -> dict[str, str]:
    """``{"plan_id" | "api_id" | "key_id": id}``: a key id typed in wins over
    the plan or API chosen in the list."""
    key_id = formvalues.text(form, "key_id")
    if key_id is not None:
        return {"key_id": key_id}
    target = formvalues.text(form, "target") or ""
    kind, _, target_id = target.partition(":")
    if kind not in _KINDS or not target_id:
        raise ValidationError("Choose a plan or an API, or type a key id.", field="target")
    return {_KINDS[kind]: target_id}


def proposal_of(form: FormData) -> dict[str, Any]:
    """The proposed limit set: rate limit rows and a quota (the key form's
    fields, so the same names parse the same way)."""
    limits = key_form.limits(form)
    if not limits:
        raise ValidationError("Propose a rate limit or a quota to replay.", field="proposal")
    return limits


def days_of(form: FormData) -> int:
    days = key_form.integer(form, "days", minimum=1)
    if days is None:
        return DEFAULT_DAYS
    if days > MAX_DAYS:
        raise ValidationError(f"days is 1 to {MAX_DAYS}", field="days")
    return days


@action("/ui/what-if")
async def run_what_if(req: WebRequest) -> Response:
    form = await req.form()
    values: dict[str, Any] = {k: v for k, v in form.items() if k != "csrf"}
    values["rl_rows"] = list(
        zip(
            form.getlist("rl_name"),
            form.getlist("rl_limit"),
            form.getlist("rl_duration_s"),
            strict=False,
        )
    )
    try:
        granularity = formvalues.text(form, "granularity") or "hour"
        result = await req.ks.analytics.what_if(
            req.principal,
            **scope_of(form),
            proposal=proposal_of(form),
            days=days_of(form),
            granularity=granularity,
            top=TOP,
        )
    except ValidationError as exc:
        return await _form(req, values, error=exc, status=422)
    except NotFound as exc:  # a plan, API or key the session cannot see
        return await _form(
            req, values, error=ValidationError(exc.detail, field="target"), status=404
        )
    return await _form(req, values, result=result)


def chart_payload(result: WhatIf) -> dict[str, Any]:
    """The ``[data-chart]`` JSON of ui.js: uses and would-be refusals per bucket
    (refusals last: drawn over the uses)."""
    return {
        "x": [int(start.timestamp()) for start, _, _ in result.buckets],
        "series": [
            {"label": "Requests", "values": [uses for _, uses, _ in result.buckets]},
            {"label": "Would be refused", "values": [refused for _, _, refused in result.buckets]},
        ],
        "unit": "requests",
    }


async def _key_names(req: WebRequest, result: WhatIf) -> dict[str, str]:
    """Names of the listed keys the session may read (else the id is shown)."""
    if not can(req, "keys.read"):
        return {}
    names: dict[str, str] = {}
    for row in result.keys:
        if row.id is None or not row.refused:
            continue
        try:
            key = await req.ks.keys.get(req.principal, row.id)
        except KeysteadError:
            continue
        if key.name:
            names[row.id] = key.name
    return names


__all__ = ["chart_payload", "days_of", "proposal_of", "scope_of"]
