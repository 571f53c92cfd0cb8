"""Token administration (``/ui/tokens``): per API, its signing keys (the one that
signs and the retired ones still published), "Rotate signing key", and the
token policy, through the calls of ``/v1/apis/{id}/signing-keys`` and
``/v1/apis/{id}/token-policy``."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response

from keystead.core.tokens.keys import ALGORITHMS
from keystead.core.tokens.policy import TokenPolicy
from keystead.errors import Forbidden, ValidationError
from keystead.web.pages.custody_fields import object_id
from keystead.web.routing import WebRequest, action, page

TTL_FIELDS = ("default_ttl_s", "min_ttl_s", "max_ttl_s")
LIST_FIELDS = ("audiences", "allowed_claims")


@page("/ui/tokens")
async def tokens(req: WebRequest) -> Response:
    req.principal.require("tokens.keys.read")
    apis = list(await req.ks.apis.list(req.principal))
    return req.render("ui/tokens/index.html", apis=apis)


def _api_id(req: WebRequest) -> str:
    return object_id(req.path("api_id"), "api_id") or ""


async def _detail(
    req: WebRequest, api_id: str, *, form: dict[str, Any] | None = None, **extra: Any
) -> Response:
    p = req.principal
    keys = await req.ks.tokens.signing_keys(p, api_id)
    try:  # the API's name and its token policy take apis.read
        api = await req.ks.apis.get(p, api_id)
        policy: dict[str, Any] | None = (await req.ks.tokens.policy(p, api_id)).to_dict()
    except Forbidden:
        api, policy = None, None
    return req.render(
        "ui/tokens/api.html",
        api=api,
        api_id=api_id,
        keys=keys,
        policy=policy,
        form=form if form is not None else policy,
        algorithms=ALGORITHMS,
        **extra,
    )


@page("/ui/tokens/{api_id}")
async def api_tokens(req: WebRequest) -> Response:
    return await _detail(req, _api_id(req))


@action("/ui/tokens/{api_id}/rotate")
async def rotate(req: WebRequest) -> Response:
    """A new signing key signs from now; the old one stays published."""
    api_id = _api_id(req)
    algorithm = (await req.form()).get("algorithm")
    chosen = algorithm if isinstance(algorithm, str) and algorithm else None
    await req.ks.tokens.rotate_signing_key(req.principal, api_id, chosen)
    return req.redirect(f"/ui/tokens/{api_id}")


def _whole(form: FormData, name: str, *, optional: bool = False) -> int | None:
    raw = form.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    if not text and optional:
        return None
    if not text.isdigit() or len(text) > 9:
        raise ValidationError(f"{name} is a whole number of seconds", field=name)
    return int(text)


def _lines(form: FormData, name: str) -> list[str]:
    raw = form.get(name)
    text = raw if isinstance(raw, str) else ""
    return [line.strip() for line in text.splitlines() if line.strip()]


def policy_of_form(form: FormData) -> TokenPolicy:
    """The whole policy from the form (a box not ticked is false); the
    constructor checks every bound, as ``PUT /v1/apis/{id}/token-policy`` does."""
    algorithm = form.get("algorithm")
    values: dict[str, Any] = {
        "enabled": form.get("enabled") == "on",
        "include_meta": form.get("include_meta") == "on",
        "algorithm": algorithm if isinstance(algorithm, str) else "",
        "rotate_every_s": _whole(form, "rotate_every_s", optional=True),
    }
    for name in TTL_FIELDS:
        values[name] = _whole(form, name)
    for name in LIST_FIELDS:
        values[name] = _lines(form, name)
    return TokenPolicy.from_dict(values)


def _echo(form: FormData) -> dict[str, Any]:
    """The form as sent, to fill it again next to an error."""
    echoed: dict[str, Any] = {name: form.get(name) or "" for name in (*TTL_FIELDS, "algorithm")}
    echoed["rotate_every_s"] = form.get("rotate_every_s") or None
    echoed["enabled"] = form.get("enabled") == "on"
    echoed["include_meta"] = form.get("include_meta") == "on"
    for name in LIST_FIELDS:
        echoed[name] = _lines(form, name)
    return echoed


@action("/ui/tokens/{api_id}/policy")
async def set_policy(req: WebRequest) -> Response:
    api_id = _api_id(req)
    form = await req.form()
    try:
        policy = policy_of_form(form)
        await req.ks.tokens.set_policy(req.principal, api_id, policy)
    except ValidationError as exc:
        return await _detail(
            req, api_id, form=_echo(form), status=422, error=exc.detail, error_field=exc.field
        )
    return req.redirect(f"/ui/tokens/{api_id}?saved=1")
