"""Bodies of rotation: the policy shape, the rotate request, and the answers.

The ranges restate those ``core.rotation.RotationPolicy.parse`` checks (which
every caller goes through, the library and the CLI included), to type the body
and document them; tests/http/test_schema_bounds.py probes the core at both ends.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt

from keystead.core.rotation import MAX_SPAN_S
from keystead.http.fieldtypes import STAMP_DOC, RequestModel, Stamp
from keystead.http.views import CreatedKeyOut, KeyOut, Timestamp

Seconds = Annotated[StrictInt, Field(ge=0, le=MAX_SPAN_S)]


class RotationPolicyIn(RequestModel):
    """Rotate keys at ``max_age_s``, keep the old one for ``grace_period_s``, and
    send ``key.expiring`` ``warn_before_s`` ahead of the rotation or expiry."""

    max_age_s: Annotated[StrictInt, Field(ge=60, le=MAX_SPAN_S)] | None = None
    grace_period_s: Seconds | None = Field(default=None, description="default 86400 (a day)")
    warn_before_s: Annotated[StrictInt, Field(ge=1, le=MAX_SPAN_S)] | None = None


class RotateIn(RequestModel):
    grace_period_s: Seconds | None = Field(
        default=None,
        description="how long the old key keeps working; 0 = emergency (dies at once); "
        "default: the key's rotation policy, else a day",
    )
    old_expires_at: Stamp | None = Field(
        default=None, description=f"when the old key stops working instead; {STAMP_DOC}"
    )


class RotateDueIn(RequestModel):
    dry_run: StrictBool = Field(default=False, description="list what is due, change nothing")


class RotatedKeyOut(CreatedKeyOut):
    """The new key (plaintext ``key`` shown this once) and what became of the old."""

    grace_ends_at: Timestamp = Field(description="when the old key stops verifying")
    old_key: KeyOut


class DueKeyOut(BaseModel):
    key_id: str
    start: str
    api_id: str
    owner_id: str | None
    due_at: Timestamp
    new_key_id: str | None = Field(default=None, description="set once rotated")
    pickup_id: str | None = Field(default=None, description="where the owner fetches it")


class DueKeyList(BaseModel):
    dry_run: bool
    items: list[DueKeyOut]


__all__ = [
    "DueKeyList",
    "DueKeyOut",
    "RotateDueIn",
    "RotateIn",
    "RotatedKeyOut",
    "RotationPolicyIn",
]
