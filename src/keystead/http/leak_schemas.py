"""Request and response bodies of ``/v1/leaks``: reports, leaks and the leak policy.

The bounds come from ``service.leaks`` and ``service.leak_policy``, which check them
again (the library and the CLI call them without these models). No answer carries
a token: a report is answered by the token's SHA-256 (``token_hash``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StringConstraints

from keystead.core.rotation import MAX_SPAN_S
from keystead.http.fieldtypes import STAMP_DOC, NoNul, ObjectId, RequestModel, Stamp
from keystead.http.views import Timestamp
from keystead.service import leaks
from keystead.service.leak_policy import PolicyView
from keystead.service.leaks import LeakAnswer
from keystead.store.leaks import LeakPolicy, LeakRecord

Token = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Url = Annotated[NoNul, StringConstraints(min_length=1, max_length=leaks.MAX_URL)]
TokenType = Annotated[NoNul, StringConstraints(min_length=1, max_length=leaks.MAX_TYPE)]
Source = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
PolicyAction = Literal["revoke", "rotate", "notify"]
Status = Literal["live", "already_revoked", "unknown"]


class ReportIn(RequestModel):
    token: Token = Field(description="the leaked token, in plaintext (hashed, never stored)")
    url: Url | None = Field(default=None, description="where it was seen")
    source: Source = Field(default="api", description="who saw it: scanner, api, a person ...")
    exposed_at: Stamp | None = Field(
        default=None, description=f"when it was first exposed; {STAMP_DOC}"
    )
    type: TokenType | None = Field(default=None, description="the reporter's name of its kind")


class ReportsIn(RequestModel):
    reports: list[ReportIn] = Field(min_length=1, max_length=leaks.MAX_REPORTS)


class AnswerOut(BaseModel):
    token_hash: str = Field(description="SHA-256 hex of the token")
    token_type: str | None
    status: Status = Field(
        description="live: the key worked and was handled by its policy now; "
        "already_revoked; unknown: not a key of this workspace that you may see"
    )
    outcome: str = Field(
        description="revoked, rotated, notified, already_revoked, unknown "
        "(pending: another node is handling the same key right now)"
    )
    key_id: str | None
    start: str | None
    leak_id: str | None
    incident_id: str | None
    repeated: bool = Field(description="an earlier report of this key did all this already")


class AnswersOut(BaseModel):
    items: list[AnswerOut]


class LeakOut(BaseModel):
    id: str
    key_id: str
    token_hash: str
    token_type: str | None
    source: str
    url: str | None
    exposed_at: Timestamp | None
    reported_at: Timestamp
    outcome: str
    incident_id: str | None
    reported_by: str | None


class LeakPage(BaseModel):
    items: list[LeakOut]
    next_cursor: str | None


class PolicyIn(RequestModel):
    action: PolicyAction = Field(description="revoke (default), rotate or notify")
    api_id: ObjectId | None = Field(
        default=None, description="an API's policy; none: the workspace's"
    )
    grace_period_s: Annotated[StrictInt, Field(ge=0, le=MAX_SPAN_S)] | None = Field(
        default=None, description="rotate: how long the leaked key keeps working"
    )
    replace: StrictBool = Field(
        default=False, description="revoke: issue a successor, held in a pickup for the owner"
    )
    notify: StrictBool = Field(default=True, description="send key.compromised to the webhooks")


class PolicyOut(BaseModel):
    api_id: str | None
    action: str
    grace_period_s: int | None
    replace: bool
    notify: bool


class PolicyViewOut(BaseModel):
    workspace: PolicyOut | None = Field(description="the workspace's policy, if set")
    api: PolicyOut | None = Field(description="the API's policy, if asked for and set")
    effective: PolicyOut = Field(description="the policy a leak follows")


class FeedbackOut(BaseModel):
    """GitHub's false-positive feedback format, one per reported token."""

    token_hash: str
    token_type: str | None
    label: Literal["true_positive", "false_positive"]


def answer_out(answer: LeakAnswer) -> AnswerOut:
    return AnswerOut(
        token_hash=answer.token_hash,
        token_type=answer.token_type,
        status=answer.status,
        outcome=answer.outcome,
        key_id=answer.key_id,
        start=answer.start,
        leak_id=answer.leak_id,
        incident_id=answer.incident_id,
        repeated=answer.repeated,
    )


def leak_out(leak: LeakRecord) -> LeakOut:
    return LeakOut(
        id=leak.id,
        key_id=leak.key_id,
        token_hash=leak.token_hash,
        token_type=leak.token_type,
        source=leak.source,
        url=leak.url,
        exposed_at=leak.exposed_at,
        reported_at=leak.reported_at,
        outcome=leak.outcome,
        incident_id=leak.incident_id,
        reported_by=leak.reported_by,
    )


def _policy(policy: LeakPolicy | None) -> PolicyOut | None:
    if policy is None:
        return None
    return PolicyOut(
        api_id=policy.api_id,
        action=policy.action,
        grace_period_s=policy.grace_period_s,
        replace=policy.replace,
        notify=policy.notify,
    )


def view_out(view: PolicyView) -> PolicyViewOut:
    effective = _policy(view.effective)
    assert effective is not None  # noqa: S101 - always set
    return PolicyViewOut(
        workspace=_policy(view.workspace), api=_policy(view.api), effective=effective
    )


def feedback_out(answer: LeakAnswer) -> FeedbackOut:
    label: Literal["true_positive", "false_positive"] = (
        "true_positive" if answer.true_positive else "false_positive"
    )
    return FeedbackOut(token_hash=answer.token_hash, token_type=answer.token_type, label=label)


__all__ = [
    "AnswerOut",
    "AnswersOut",
    "FeedbackOut",
    "LeakOut",
    "LeakPage",
    "PolicyIn",
    "PolicyViewOut",
    "ReportIn",
    "ReportsIn",
    "answer_out",
    "feedback_out",
    "leak_out",
    "view_out",
]
