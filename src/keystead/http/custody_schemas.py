"""Request bodies of owner public keys, key actions, compromise and incidents.

Shapes only; the service checks meaning again (a JWK's curve and point, a
cause's source) and names the field it refuses.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictInt, StringConstraints

from keystead.core.rotation import MAX_SPAN_S
from keystead.http.fieldtypes import JsonObject, NoNul, RequestModel

Source = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
Reason = Annotated[NoNul, StringConstraints(min_length=1, max_length=1000)]
Reference = Annotated[NoNul, StringConstraints(min_length=1, max_length=500)]
Notes = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
ActionName = Literal["disable", "rotate", "emergency_rotate", "revoke"]
IncidentStatus = Literal["open", "investigating", "resolved"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class PublicKeyPut(RequestModel):
    jwk: JsonObject = Field(
        description="the owner's PUBLIC key as a JWK: EC (P-256, P-384, P-521) or OKP "
        "(X25519), for ECDH-ES; a key with private parts ('d') is refused"
    )


class CauseIn(RequestModel):
    source: Source = Field(description="what triggered it: alert, leak_report, operator ...")
    reason: Reason = Field(description="why, for people")
    reference: Reference | None = Field(
        default=None, description="the source's own id of it: an alert id, a report URL"
    )


class ActionIn(RequestModel):
    action: ActionName = Field(
        description="disable (keys.update), rotate / emergency_rotate (keys.rotate), "
        "revoke (keys.revoke)"
    )
    cause: CauseIn
    grace_period_s: Annotated[StrictInt, Field(ge=0, le=MAX_SPAN_S)] | None = Field(
        default=None,
        description="rotate only: how long the old key keeps working; default: the key's "
        "rotation policy, else a day",
    )


class CompromiseIn(RequestModel):
    replace: StrictBool = Field(
        default=False,
        description="issue a replacement now, shown once in the answer "
        "(needs keys.create and keys.rotate)",
    )
    reason: Reason | None = Field(default=None, description="what is known of the compromise")
    notify: StrictBool = Field(
        default=True, description="send the key.compromised event to the webhooks"
    )


class IncidentPatch(RequestModel):
    status: IncidentStatus | None = None
    notes: Annotated[Notes, AfterValidator(_no_nul)] | None = Field(
        default=None, description="free text; null clears it"
    )


__all__ = [
    "ActionIn",
    "ActionName",
    "CauseIn",
    "CompromiseIn",
    "IncidentPatch",
    "IncidentStatus",
    "PublicKeyPut",
]
