"""Browser form fields -> the key spec ``ks.keys.create`` and ``ks.keys.update``
take. Pure: no I/O. Only fields the person filled in are sent, so an omitted
field takes the API's key defaults (create) or stays as it is (update).

Lists are typed one per line (commas also separate); meta is a JSON object;
dates are ``datetime-local`` values read as UTC. Anything malformed is a
``ValidationError`` naming the form field, shown next to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import FormData as Form

from keystead.errors import ValidationError
from keystead.web.pages.formvalues import text, whole

_SPLIT = re.compile(r"[\n,]")
RESTRICTION_LISTS = (
    ("ips", "allow"),
    ("ips", "deny"),
    ("countries", "allow"),
    ("countries", "deny"),
    ("user_agents", "allow"),
    ("user_agents", "deny"),
)
RESTRICTION_PLAIN = ("referrers", "methods", "paths")
RATELIMIT_ROWS = 3
_EDITED = frozenset({kind for kind, _ in RESTRICTION_LISTS} | set(RESTRICTION_PLAIN))


def lines(value: str | None) -> list[str]:
    if value is None:
        return []
    return [part.strip() for part in _SPLIT.split(value) if part.strip()]


def integer(form: Form, name: str, *, minimum: int = 0) -> int | None:
    number = whole(form, name)
    if number is not None and number < minimum:
        raise ValidationError(f"{name} is at least {minimum}", field=name)
    return number


def number(form: Form, name: str) -> float | None:
    value = text(form, name)
    if value is None:
        return None
    try:
        parsed = float(value)
    except ValueError:
        raise ValidationError(f"{name} is a number", field=name) from None
    if not parsed > 0 or parsed == float("inf"):
        raise ValidationError(f"{name} is a positive number", field=name)
    return parsed


def meta(form: Form, name: str = "meta") -> dict[str, Any] | None:
    value = text(form, name)
    if value is None:
        return None
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise ValidationError(
            'meta is a JSON object, e.g. {"team": "billing"}', field=name
        ) from None
    if not isinstance(decoded, dict):
        raise ValidationError('meta is a JSON object, e.g. {"team": "billing"}', field=name)
    return decoded


def timestamp(form: Form, name: str) -> str | None:
    """A ``datetime-local`` value (no zone) is read as UTC; the service checks it."""
    value = text(form, name)
    if value is None:
        return None
    return value if value.endswith("Z") or "+" in value[10:] else value + "+00:00"


def restrictions(form: Form) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for kind, side in RESTRICTION_LISTS:
        items = lines(text(form, f"r_{kind}_{side}"))
        if items:
            out.setdefault(kind, {})[side] = items
    for kind in RESTRICTION_PLAIN:
        items = lines(text(form, f"r_{kind}"))
        if items:
            out[kind] = items
    return out or None


def ratelimits(form: Form) -> list[dict[str, Any]]:
    names, limits, durations = (
        form.getlist("rl_name"),
        form.getlist("rl_limit"),
        form.getlist("rl_duration_s"),
    )
    out: list[dict[str, Any]] = []
    for index, (name, limit, duration) in enumerate(zip(names, limits, durations, strict=False)):
        row = {"n": str(name).strip(), "l": str(limit).strip(), "d": str(duration).strip()}
        if not any(row.values()):
            continue
        try:
            out.append({"name": row["n"], "limit": int(row["l"]), "duration_s": float(row["d"])})
        except ValueError:
            raise ValidationError(
                "a rate limit is a name, a whole number of requests and a duration in seconds",
                field=f"ratelimits[{index}]",
            ) from None
    return out


def limits(form: Form) -> dict[str, Any]:
    """The limit fields present in the form (omitted ones are left out)."""
    out: dict[str, Any] = {}
    rates = ratelimits(form)
    if rates:
        out["ratelimits"] = rates
    quota = integer(form, "quota_limit", minimum=1)
    if quota is not None:
        out["quota"] = {"limit": quota, "period": text(form, "quota_period") or "month"}
    credits = integer(form, "credits_remaining")
    if credits is not None:
        spec: dict[str, Any] = {"remaining": credits}
        amount = integer(form, "credits_refill_amount", minimum=1)
        interval = number(form, "credits_refill_interval_s")
        if amount is not None and interval is not None:
            spec["refill"] = {"amount": amount, "interval_s": interval}
        out["credits"] = spec
    concurrency = integer(form, "concurrency_limit", minimum=1)
    if concurrency is not None:
        out["concurrency"] = {"limit": concurrency}
    return out


def create_spec(form: Form) -> dict[str, Any]:
    """The spec of ``ks.keys.create`` from the new-key form."""
    spec: dict[str, Any] = {"api_id": text(form, "api_id")}
    for name in ("name", "owner_id", "environment", "plan_id"):
        value = text(form, name)
        if value is not None:
            spec[name] = value
    permissions = lines(text(form, "permissions"))
    if permissions:
        spec["permissions"] = permissions
    roles = lines(text(form, "roles"))
    if roles:
        spec["roles"] = roles
    for name in ("expires_at", "not_before"):
        value = timestamp(form, name)
        if value is not None:
            spec[name] = value
    found = meta(form)
    if found is not None:
        spec["meta"] = found
    restricted = restrictions(form)
    if restricted is not None:
        spec["restrictions"] = restricted
    spec.update(limits(form))
    rotate_days = integer(form, "rotate_every_days", minimum=1)
    if rotate_days is not None:
        spec["rotation_policy"] = {"max_age_s": rotate_days * 86_400}
    if form.get("start_disabled") == "on":
        spec["enabled"] = False
    return spec


def update_changes(form: Form, current: Mapping[str, Any] | None) -> dict[str, Any]:
    """The changes of ``ks.keys.update`` from the edit form: every editable
    field is shown filled in, so an emptied field clears it (None). Restriction
    kinds the form does not edit (a schedule) are kept from ``current``."""
    kept = {k: v for k, v in (current or {}).items() if k not in _EDITED}
    restricted = {**kept, **(restrictions(form) or {})}
    changes: dict[str, Any] = {
        "name": text(form, "name"),
        "owner_id": text(form, "owner_id"),
        "plan_id": text(form, "plan_id"),
        "permissions": lines(text(form, "permissions")),
        "roles": lines(text(form, "roles")),
        "expires_at": timestamp(form, "expires_at"),
        "meta": meta(form) or {},
        "restrictions": restricted or None,
    }
    return changes


def form_values(key: Any) -> dict[str, str]:
    """The edit form's fields filled from a key (text the templates escape)."""
    restricted: Mapping[str, Any] = key.restrictions or {}
    values = {
        "name": key.name or "",
        "owner_id": key.owner_id or "",
        "plan_id": key.plan_id or "",
        "permissions": "\n".join(key.permissions),
        "roles": "\n".join(key.roles),
        "expires_at": "" if key.expires_at is None else key.expires_at.strftime("%Y-%m-%dT%H:%M"),
        "meta": orjson.dumps(key.meta, option=orjson.OPT_INDENT_2).decode() if key.meta else "",
    }
    for kind, side in RESTRICTION_LISTS:
        rule = restricted.get(kind) or {}
        values[f"r_{kind}_{side}"] = "\n".join(rule.get(side, []))
    for kind in RESTRICTION_PLAIN:
        values[f"r_{kind}"] = "\n".join(restricted.get(kind) or [])
    return values


__all__ = ["create_spec", "form_values", "limits", "update_changes"]


def limit_changes(form: Form, current: Mapping[str, Any]) -> dict[str, Any]:
    """The limit changes of the edit page's limits form. Rate limits, quota and
    concurrency are shown filled in, so an emptied one is cleared; what the form
    does not show (an algorithm, a burst, a quota's time zone) is kept from
    ``current``. Credits change only when a balance is typed (it sets the live
    balance) or clearing is asked; ``reset_quota`` starts the quota count again."""
    given = limits(form)
    by_name = {r["name"]: r for r in current.get("ratelimits", [])}
    changes: dict[str, Any] = {
        "ratelimits": [{**by_name.get(r["name"], {}), **r} for r in given.get("ratelimits", [])]
        or None,
        "quota": None if "quota" not in given else {**current.get("quota", {}), **given["quota"]},
        "concurrency": None
        if "concurrency" not in given
        else {**current.get("concurrency", {}), **given["concurrency"]},
    }
    if form.get("credits_clear") == "on":
        changes["credits"] = None
    elif "credits" in given:
        refill = (current.get("credits") or {}).get("refill")
        changes["credits"] = {"refill": refill, **given["credits"]}
    if form.get("reset_quota") == "on":
        changes["reset_quota"] = True
    return changes


def limit_values(limits_now: Mapping[str, Any]) -> dict[str, Any]:
    """The limits form's fields filled from a key's own limit set."""
    rates = limits_now.get("ratelimits", [])
    rows = [(r["name"], str(r["limit"]), f"{r['duration_s']:g}") for r in rates]
    quota = limits_now.get("quota") or {}
    concurrency = limits_now.get("concurrency") or {}
    return {
        "rl_rows": rows + [("", "", "")] * RATELIMIT_ROWS,
        "quota_limit": str(quota.get("limit", "")),
        "quota_period": quota.get("period", "month"),
        "concurrency_limit": str(concurrency.get("limit", "")),
    }
