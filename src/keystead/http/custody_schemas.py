"""Request bodies of owner public keys, key actions, compromise and incidents.

Shapes only; the service checks meaning again (a JWK's curve and point, a
cause's source) and names the field it refuses. The text bounds come from
``service.actions`` and ``service.incidents``, which check them again because
the library and the CLI call them without these models; the ``Literal`` enums
restate their name tuples for typing and the OpenAPI ``enum``, and
tests/http/test_schema_bounds.py fails when the two differ.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictInt, StringConstraints

from keystead.core.rotation import MAX_SPAN_S
from keystead.http.fieldtypes import JsonObject, NoNul, RequestModel, no_nul
from keystead.service import actions, incidents

Source = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
Reason = Annotated[NoNul, StringConstraints(min_length=1, max_length=actions.MAX_REASON)]
Reference = Annotated[NoNul, StringConstraints(min_length=1, max_length=actions.MAX_REFERENCE)]
Notes = Annotated[str, StringConstraints(min_length=1, max_length=incidents.MAX_NOTES)]
ActionName = Literal["disable", "rotate", "emergency_rotate", "revoke"]
IncidentStatus = Literal["open", "investigating", "resolved"]


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
    notes: Annotated[Notes, AfterValidator(no_nul)] | None = Field(
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
