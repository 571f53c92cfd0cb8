"""``/portal/keys/{key_id}``: one of the owner's keys with its usage charts,
rolled with a grace period (the new key revealed once) or revoked after a
confirmation naming it.

A key id of another owner (or API) is refused by the service as not found,
before anything of it is read: the page, the charts and the actions alike.
"""

from __future__ import annotations

from starlette.responses import Response

from keystead.errors import ValidationError
from keystead.web.pages import key_detail, key_form
from keystead.web.pages.keys import can
from keystead.web.portal import keys as _keys  # noqa: F401  (/portal/keys/new before {key_id})
from keystead.web.routing import WebRequest, action, data, page

GRACE_CHOICES = key_detail.GRACE_CHOICES
DEFAULT_GRACE = 86_400
DONE = ("revoked",)


@page("/portal/keys/{key_id}", area="portal")
async def key_page(req: WebRequest) -> Response:
    key = await req.ks.keys.get(req.principal, req.path("key_id"))
    done = req.query("done")
    return req.render(
        "portal/keys/detail.html",
        key=key,
        state=key.state_at(req.ks.clock.now()),
        counters=await req.ks.keys.counters(req.principal, key.id),
        chain=await key_detail.lineage(req, key),
        grace_choices=GRACE_CHOICES,
        default_grace=DEFAULT_GRACE,
        done=done if done in DONE else None,
        may={name: can(req, name) for name in ("keys.rotate", "keys.revoke", "usage.read")},
    )


data("/portal/data/keys/{key_id}/usage", area="portal")(key_detail.usage_data)
data("/portal/data/keys/{key_id}/latency", area="portal")(key_detail.latency_data)


@action("/portal/keys/{key_id}/roll", area="portal")
async def roll_key(req: WebRequest) -> Response:
    """Rotate the key; the old one keeps working for the grace chosen (one
    of ``GRACE_CHOICES``), the new one is shown in this answer only."""
    form = await req.form()
    grace = key_form.integer(form, "grace_period_s")
    if grace is None:
        grace = DEFAULT_GRACE
    if grace not in {seconds for seconds, _ in GRACE_CHOICES}:
        raise ValidationError("Choose one of the grace periods listed.", field="grace_period_s")
    rotation = await req.ks.rotation.rotate(req.principal, req.path("key_id"), grace_period_s=grace)
    return req.render(
        "portal/keys/created.html",
        status=201,
        heading="Key rolled",
        key=rotation.new.key,
        plaintext=rotation.new.plaintext,
        old=rotation.old,
        grace_ends_at=rotation.grace_ends_at,
    )


@action("/portal/keys/{key_id}/revoke", area="portal")
async def revoke_key(req: WebRequest) -> Response:
    key = await req.ks.keys.revoke(req.principal, req.path("key_id"))
    return req.redirect(f"/portal/keys/{key.id}?done=revoked")


__all__ = ["key_page", "revoke_key", "roll_key"]
