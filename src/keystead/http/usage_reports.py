"""``POST /v1/usage/records``: requests a remote middleware or gateway verified and
answered, reported in batches so their usage records carry the response
(status, time, bytes), and so requests answered from a client's verify cache
are counted at all.

The body is checked for shape and types here; the service checks values and
names the report it refuses (``records[3].status``). Nothing is recorded
unless every report is valid.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictInt, StringConstraints

from keystead.core.models import Code
from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import NoNul, ObjectId, RequestModel
from keystead.http.openapi import WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import VERIFY_LIMITS
from keystead.service.usage import MAX_REPORTS, MAX_TAG_LENGTH, MAX_TAGS

PATH = "/v1/usage/records"

router = make_router(tags=["usage"])


_Ip = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["ip"])]
_Agent = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["user_agent"])]
_Method = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["method"])]
_Path = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["path"])]
_Tag = Annotated[NoNul, StringConstraints(min_length=1, max_length=MAX_TAG_LENGTH)]
_Number = Annotated[float, Field(strict=True)]


class UsageReportIn(RequestModel):
    """One request as the reporter saw it (null or omitted: unknown)."""

    key_id: ObjectId | None = Field(
        default=None, description="the verified key's id; null for an answer without a key"
    )
    code: Code = Field(description="the verification's code")
    at: _Number = Field(description="when the request arrived, epoch seconds")
    ip: _Ip | None = None
    user_agent: _Agent | None = None
    method: _Method | None = None
    path: _Path | None = None
    status: StrictInt | None = Field(default=None, description="the response's HTTP status")
    response_ms: _Number | None = Field(default=None, description="time to answer, milliseconds")
    bytes_in: StrictInt | None = None
    bytes_out: StrictInt | None = None
    tags: Annotated[list[_Tag], Field(max_length=MAX_TAGS)] = Field(default_factory=list)


class UsageReportBatch(RequestModel):
    records: Annotated[list[UsageReportIn], Field(max_length=MAX_REPORTS)]


class UsageReportsOut(BaseModel):
    recorded: int = Field(description="records appended (0 when usage recording is off)")
    unattributed: int = Field(
        description="reports naming a key this root key cannot see: recorded for the "
        "workspace only, never attributed to that key"
    )


@router.post(PATH, summary="Report completed requests", responses=WITH_BODY)
async def report_usage(body: UsageReportBatch, ks: Service, principal: Auth) -> UsageReportsOut:
    """Needs ``keys.verify``. At most 1000 reports; all or nothing: an invalid
    report is a 422 naming it, and nothing is recorded. Records are written
    off the request path, like a verification's."""
    reports = [report.model_dump() for report in body.records]
    outcome = await ks.usage.report(principal, reports)
    return UsageReportsOut(recorded=outcome.recorded, unattributed=outcome.unattributed)


__all__ = ["PATH", "UsageReportBatch", "UsageReportIn", "router"]
