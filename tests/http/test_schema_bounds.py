"""The request schemas take their bounds and enums from the service: the OpenAPI
document states the number the service enforces, and where two lists of names
are kept (a ``Literal`` for the schema, a tuple the service checks), they agree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, get_args

import pydantic
import pytest
from pydantic import TypeAdapter

from keystead.config import Settings
from keystead.core import alerts as core_alerts
from keystead.core.alerts import check_rule
from keystead.core.keyformat import MAX_PREFIX_LENGTH
from keystead.core.permissions import MAX_SCOPED_PERMISSION_LENGTH
from keystead.core.rotation import RotationPolicy
from keystead.core.tokens import policy as token_policy
from keystead.errors import ValidationError
from keystead.http import alert_schemas, custody_schemas, fieldtypes
from keystead.http.app import create_app
from keystead.http.limit_schemas import ApiLimitsIn, LimitFields
from keystead.http.schemas import KeyCreate, KeyUpdate
from keystead.http.webhook_schemas import WebhookUpdate
from keystead.service import actions, fields, incidents, limit_fields, webhook_fields
from keystead.service.keys import MAX_BATCH

# (schema, property, JSON Schema keyword, the service's bound)
DOCUMENTED: list[tuple[str, str, str, object]] = [
    ("KeyCreate", "name", "maxLength", fields.MAX_TEXT),
    ("KeyCreate", "owner_id", "maxLength", fields.MAX_TEXT),
    ("KeyCreate", "environment", "maxLength", fields.MAX_ENVIRONMENT),
    ("KeyCreate", "permissions", "maxItems", fields.MAX_LIST),
    ("KeyCreate", "roles", "maxItems", fields.MAX_LIST),
    ("KeyCreate", "ratelimits", "maxItems", limit_fields.MAX_RATELIMITS),
    ("KeyBatch", "keys", "maxItems", MAX_BATCH),
    ("ApiCreate", "name", "maxLength", fields.MAX_TEXT),
    ("ApiCreate", "prefix", "maxLength", MAX_PREFIX_LENGTH),
    ("ApiLimitsIn", "failure_policy", "enum", list(limit_fields.FAILURE_POLICIES)),
    ("ApiLimitsIn", "ip_ratelimits", "maxItems", limit_fields.MAX_RATELIMITS),
    ("RolePut", "description", "maxLength", fields.MAX_DESCRIPTION),
    ("WebhookCreate", "url", "maxLength", webhook_fields.MAX_URL),
    ("WebhookCreate", "description", "maxLength", webhook_fields.MAX_DESCRIPTION),
    ("SecretRotation", "expire_old_after_s", "default", webhook_fields.DEFAULT_OVERLAP_S),
    ("CauseIn", "reason", "maxLength", actions.MAX_REASON),
    ("CauseIn", "reference", "maxLength", actions.MAX_REFERENCE),
    ("CompromiseIn", "reason", "maxLength", incidents.MAX_REASON),
    ("IncidentPatch", "notes", "maxLength", incidents.MAX_NOTES),
    ("RootKeyCreate", "name", "maxLength", fields.MAX_TEXT),
    ("RootKeyCreate", "api_ids", "maxItems", fields.MAX_LIST),
    ("RootKeyCreate", "permissions", "maxItems", fields.MAX_LIST),
    ("TokenPolicyIn", "max_ttl_s", "maximum", token_policy.TTL_CEILING_S),
    ("TokenPolicyIn", "audiences", "maxItems", token_policy.MAX_LIST_ITEMS),
    ("TokenPolicyIn", "audiences", "maxLength", token_policy.MAX_AUDIENCE_CHARS),
    ("TokenPolicyIn", "allowed_claims", "maxItems", token_policy.MAX_LIST_ITEMS),
    ("TokenPolicyIn", "rotate_every_s", "minimum", token_policy.ROTATE_FLOOR_S),
    ("TokenPolicyIn", "rotate_every_s", "maximum", token_policy.ROTATE_CEILING_S),
]


def _keyword(node: Any, keyword: str) -> object:
    """``keyword`` of a property, of its non-null branch, or of its items."""
    if keyword in node:
        return node[keyword]
    for branch in node.get("anyOf", ()):
        if branch.get("type") != "null":
            return _keyword(branch, keyword)
    if "items" in node:
        return _keyword(node["items"], keyword)
    raise AssertionError(f"no {keyword} in {node}")


def test_the_openapi_document_states_the_services_bounds() -> None:
    schemas = create_app(settings=Settings()).openapi()["components"]["schemas"]
    wrong = [
        f"{model}.{name} {keyword}: documented {documented}, service {bound}"
        for model, name, keyword, bound in DOCUMENTED
        if (documented := _keyword(schemas[model]["properties"][name], keyword)) != bound
    ]
    assert not wrong, "\n".join(wrong)


def test_permission_items_are_bounded_as_the_parser_bounds_them() -> None:
    schemas = create_app(settings=Settings()).openapi()["components"]["schemas"]
    items = _keyword(schemas["KeyCreate"]["properties"]["permissions"], "items")
    assert _keyword(items, "maxLength") == MAX_SCOPED_PERMISSION_LENGTH
    roles = _keyword(schemas["KeyCreate"]["properties"]["roles"], "items")
    assert _keyword(roles, "maxLength") == fields.MAX_ROLE_NAME


# (what, a check of the service, the largest value it takes, the smallest it refuses)
ENFORCED: list[tuple[str, Callable[[Any], object], object, object]] = [
    ("text", lambda v: fields.text(v, "name"), "n" * fields.MAX_TEXT, "n" * (fields.MAX_TEXT + 1)),
    ("role", fields.roles, ["r" * fields.MAX_ROLE_NAME], ["r" * (fields.MAX_ROLE_NAME + 1)]),
    ("environment", fields.environment, "e" * fields.MAX_ENVIRONMENT,
     "e" * (fields.MAX_ENVIRONMENT + 1)),
    ("list", fields.roles, ["r"] * fields.MAX_LIST, ["r"] * (fields.MAX_LIST + 1)),
    ("year", lambda v: fields.timestamp(v, "expires_at"), f"{fields.MIN_YEAR}-01-01T00:00:00Z",
     f"{fields.MIN_YEAR - 1}-12-31T23:59:59Z"),
    ("ratelimits", limit_fields.ratelimits,
     [{"name": f"r{i}", "limit": 1, "duration_s": 1} for i in range(limit_fields.MAX_RATELIMITS)],
     [{"name": f"r{i}", "limit": 1, "duration_s": 1}
      for i in range(limit_fields.MAX_RATELIMITS + 1)]),
    ("priority", limit_fields.priority, limit_fields.MAX_PRIORITY, limit_fields.MAX_PRIORITY + 1),
    ("url", webhook_fields.url, "https://h/" + "p" * (webhook_fields.MAX_URL - 10),
     "https://h/" + "p" * (webhook_fields.MAX_URL - 9)),
    ("description", webhook_fields.description, "d" * webhook_fields.MAX_DESCRIPTION,
     "d" * (webhook_fields.MAX_DESCRIPTION + 1)),
    ("overlap", webhook_fields.overlap, webhook_fields.MAX_OVERLAP_S,
     webhook_fields.MAX_OVERLAP_S + 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "check", "largest", "refused"), ENFORCED, ids=[row[0] for row in ENFORCED]
)
def test_the_service_enforces_exactly_the_shared_bound(
    what: str, check: Callable[[Any], object], largest: object, refused: object
) -> None:
    check(largest)
    with pytest.raises(ValidationError):
        check(refused)


# (the schema's Literal, the names the service or the core checks)
NAMES: list[tuple[object, tuple[str, ...]]] = [
    (alert_schemas.Kind, core_alerts.KINDS),
    (alert_schemas.Metric, core_alerts.METRICS),
    (alert_schemas.Scope, core_alerts.RULE_SCOPES),
    (alert_schemas.Comparator, tuple(core_alerts.COMPARATORS)),
    (alert_schemas.Severity, core_alerts.SEVERITIES),
    (alert_schemas.AlertStatus, core_alerts.STATUSES),
    (alert_schemas.RuleAction, core_alerts.RULE_ACTIONS),
    (custody_schemas.ActionName, actions.ACTIONS),
    (custody_schemas.IncidentStatus, incidents.STATUSES),
]


def test_every_enum_of_a_schema_lists_the_names_the_service_checks() -> None:
    wrong = [f"{get_args(lit)} != {names}" for lit, names in NAMES if get_args(lit) != names]
    assert not wrong, "\n".join(wrong)


def test_one_reason_bound_serves_actions_and_compromise() -> None:
    """``custody_schemas.Reason`` types both; the two services must agree on it."""
    assert actions.MAX_REASON == incidents.MAX_REASON


def test_the_bodies_take_the_fields_the_service_takes() -> None:
    """A field the schema has and the service refuses as unknown (or the other way
    round) would be a 422 for a documented field, or an undocumented one."""
    assert set(KeyCreate.model_fields) == fields.CREATE_FIELDS
    assert set(KeyUpdate.model_fields) == fields.UPDATE_FIELDS
    assert set(WebhookUpdate.model_fields) == webhook_fields.CHANGE_FIELDS
    assert set(LimitFields.model_fields) == set(limit_fields.LIMIT_FIELDS)
    assert set(ApiLimitsIn.model_fields) == limit_fields.API_LIMIT_FIELDS


def _refuses(check: Callable[[], object]) -> bool:
    try:
        check()
    except ValidationError:
        return True
    return False


_RULE: dict[str, object] = {
    "kind": "revoked_use",
    "severity": "info",
    "name": "r",
    "window_minutes": 5,
    "baseline_days": 7,
    "enabled": True,
    "scope": "key",
}

# (schema, property, the core's check of a value)
PROBED: list[tuple[str, str, Callable[[int], object]]] = [
    ("RotationPolicyIn", "max_age_s", lambda v: RotationPolicy.parse({"max_age_s": v})),
    ("RotationPolicyIn", "warn_before_s", lambda v: RotationPolicy.parse({"warn_before_s": v})),
    ("RotationPolicyIn", "grace_period_s",
     lambda v: RotationPolicy.parse({"warn_before_s": 1, "grace_period_s": v})),
    ("RuleIn", "window_minutes", lambda v: check_rule({**_RULE, "window_minutes": v})),
    ("RuleIn", "baseline_days", lambda v: check_rule({**_RULE, "baseline_days": v})),
]  # fmt: skip


@pytest.mark.parametrize(("model", "name", "check"), PROBED, ids=[f"{m}.{n}" for m, n, _ in PROBED])
def test_a_documented_range_is_the_range_the_core_takes(
    model: str, name: str, check: Callable[[int], object]
) -> None:
    """Where the core keeps the bound as its own number, probe it at both ends."""
    prop = create_app(settings=Settings()).openapi()["components"]["schemas"][model]["properties"]
    minimum, maximum = _keyword(prop[name], "minimum"), _keyword(prop[name], "maximum")
    assert isinstance(minimum, int | float) and isinstance(maximum, int | float)
    low, high = int(minimum), int(maximum)
    assert (low, high) == (minimum, maximum)
    assert not _refuses(lambda: check(low)) and not _refuses(lambda: check(high))
    assert _refuses(lambda: check(low - 1)) and _refuses(lambda: check(high + 1))


@pytest.mark.parametrize("name", ["name", "scope_id"])
def test_alert_rule_texts_are_as_long_as_the_core_takes(name: str) -> None:
    prop = create_app(settings=Settings()).openapi()["components"]["schemas"]["RuleIn"]
    longest = _keyword(prop["properties"][name], "maxLength")
    assert isinstance(longest, int)
    assert not _refuses(lambda: check_rule({**_RULE, name: "n" * longest}))
    assert _refuses(lambda: check_rule({**_RULE, name: "n" * (longest + 1)}))


def test_every_page_size_is_documented_as_the_service_bounds_it() -> None:
    """The routes restate ``fields.MAX_PAGE`` in their ``limit`` query parameter
    (``/v1/analytics/top`` counts values, not a page, and has its own)."""
    paths = create_app(settings=Settings()).openapi()["paths"]
    limits = {
        f"{method.upper()} {path}": param["schema"]
        for path, operations in paths.items()
        if path != "/v1/analytics/top"
        for method, operation in operations.items()
        for param in operation.get("parameters", ())
        if param["name"] == "limit"
    }
    assert len(limits) >= 8
    wrong = {
        route: schema
        for route, schema in limits.items()
        if (schema.get("minimum"), schema.get("maximum")) != (1, fields.MAX_PAGE)
    }
    assert wrong == {}


def test_a_date_time_is_refused_by_the_schema_exactly_where_the_service_refuses_it() -> None:
    """One range, [MIN_TIME, MAX_TIME): a body the schema takes never meets the
    service's own refusal (a different problem body for the same mistake)."""
    stamp = TypeAdapter(fieldtypes.Stamp)
    just_inside = fields.MAX_TIME - timedelta(microseconds=1)
    assert stamp.validate_python(just_inside) == just_inside
    assert fields.timestamp(just_inside, "expires_at") == just_inside
    for outside in (fields.MAX_TIME, fields.MIN_TIME - timedelta(microseconds=1)):
        with pytest.raises(pydantic.ValidationError):
            stamp.validate_python(outside)
        with pytest.raises(ValidationError):
            fields.timestamp(outside, "expires_at")
