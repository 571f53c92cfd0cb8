"""Every constraint that docs/api.md, docs/limits.md and docs/security.md state for a
request field is enforced: a value breaking it is a 422 whose problem names the field
(the service's ``field``, or a location in ``errors``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, open_world

from keystead.service import Keystead

R = {"name": "r", "limit": 10, "duration_s": 60}  # a valid rate limit


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(depth):
        node = {"m": node}
    return node


# (what the docs say, method, path, body, the field the problem must name);
# paths hold {api} and {key}, filled in with an API and a key of the test world
REFUSED: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("names are 1 to 200 characters", "POST", "/v1/apis", {"name": ""}, "name"),
    ("names are 1 to 200 characters", "POST", "/v1/apis", {"name": "n" * 201}, "name"),
    ("no NUL characters anywhere", "POST", "/v1/apis", {"name": "a\x00b"}, "name"),
    ("prefix is [a-z][a-z0-9_]{0,31}", "POST", "/v1/apis", {"name": "p", "prefix": "Doc"},
     "prefix"),
    ("prefix is [a-z][a-z0-9_]{0,31}", "POST", "/v1/apis", {"name": "p", "prefix": "p" * 33},
     "prefix"),
    ("ksroot is reserved", "POST", "/v1/apis", {"name": "p", "prefix": "ksroot"}, "prefix"),
    ("expires_in_s is 1 s to 100 years", "POST", "/v1/apis",
     {"name": "p", "key_defaults": {"expires_in_s": 0}}, "key_defaults.expires_in_s"),
    ("expires_in_s is 1 s to 100 years", "POST", "/v1/apis",
     {"name": "p", "key_defaults": {"expires_in_s": 101 * 366 * 86_400}},
     "key_defaults.expires_in_s"),
    ("failure_policy is open or closed", "POST", "/v1/apis",
     {"name": "p", "limits": {"failure_policy": "ajar"}}, "limits.failure_policy"),
    ("up to 20 ip_ratelimits", "POST", "/v1/apis",
     {"name": "p", "limits": {"ip_ratelimits": [{**R, "name": f"r{i}"} for i in range(21)]}},
     "limits.ip_ratelimits"),
    ("role names are A-Z a-z 0-9 _ . : -", "PUT", "/v1/apis/{api}/roles/a%20b",
     {"permissions": []}, "name"),
    ("a role holds at most 1000 permissions", "PUT", "/v1/apis/{api}/roles/r",
     {"permissions": ["p"] * 1001}, "permissions"),
    ("a role description is at most 500", "PUT", "/v1/apis/{api}/roles/r",
     {"permissions": [], "description": "d" * 501}, "description"),
    ("permissions are at most 128 characters", "POST", "/v1/keys",
     {"api_id": "{api}", "permissions": ["p" * 129]}, "permissions[0]"),
    ("owner ids are 1 to 200 characters", "POST", "/v1/keys",
     {"api_id": "{api}", "owner_id": ""}, "owner_id"),
    ("meta is at most 16 KiB", "POST", "/v1/keys",
     {"api_id": "{api}", "meta": {"m": "x" * 17_000}}, "meta"),
    ("meta is at most 32 levels deep", "POST", "/v1/keys",
     {"api_id": "{api}", "meta": _nested(40)}, "meta"),
    ("environment is [a-z0-9]{1,16}", "POST", "/v1/keys",
     {"api_id": "{api}", "environment": "Test"}, "environment"),
    ("environment is [a-z0-9]{1,16}", "POST", "/v1/keys",
     {"api_id": "{api}", "environment": "e" * 17}, "environment"),
    ("date-times lie between 1970 and 9999", "POST", "/v1/keys",
     {"api_id": "{api}", "expires_at": "1969-12-31T23:59:59Z"}, "expires_at"),
    ("an id is an id", "POST", "/v1/keys", {"api_id": "docs"}, "api_id"),
    ("an id is an id", "POST", "/v1/keys", {"api_id": "{api}", "plan_id": "gold"}, "plan_id"),
    ("a batch holds 1 to 1000 specs", "POST", "/v1/keys/batch", {"keys": []}, "keys"),
    ("ips are CIDR networks or addresses", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"ips": {"allow": ["10.0.0.1/8"]}}},
     "restrictions.ips.allow[0]"),
    ("a zone index has no meaning in an allowlist", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"ips": {"allow": ["fe80::1%eth0"]}}},
     "restrictions.ips.allow[0]"),
    ("a zone index has no meaning in an allowlist", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"ips": {"deny": ["fe80::%1/64"]}}},
     "restrictions.ips.deny[0]"),
    ("countries are ISO 3166-1 alpha-2", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"countries": {"allow": ["FRA"]}}},
     "restrictions.countries.allow[0]"),
    ("restriction lists hold at most 1000 entries", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"methods": ["GET"] * 1001}}, "restrictions.methods"),
    ("restriction strings are at most 512 characters", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"paths": ["/" + "p" * 512]}},
     "restrictions.paths[0]"),
    ("paths start with /", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"paths": ["v1/docs"]}}, "restrictions.paths[0]"),
    ("weekdays are mon ... sun", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"schedule": {"weekdays": ["monday"]}}},
     "restrictions.schedule.weekdays[0]"),
    ("hours are HH:MM", "POST", "/v1/keys",
     {"api_id": "{api}",
      "restrictions": {"schedule": {"hours": [{"start": "8:00", "end": "18:00"}]}}},
     "restrictions.schedule.hours[0].start"),
    ("host-dependent time zones are rejected", "POST", "/v1/keys",
     {"api_id": "{api}", "restrictions": {"schedule": {"timezone": "localtime"}}},
     "restrictions.schedule.timezone"),
    ("a rate limit is 1 to 10^12", "POST", "/v1/keys",
     {"api_id": "{api}", "ratelimits": [{**R, "limit": 0}]}, "ratelimits[0].limit"),
    ("rate limit names are 1 to 64 characters", "POST", "/v1/keys",
     {"api_id": "{api}", "ratelimits": [{**R, "name": "n" * 65}]}, "ratelimits[0].name"),
    ("rate limit names are unique", "POST", "/v1/keys",
     {"api_id": "{api}", "ratelimits": [R, R]}, "ratelimits[1].name"),
    ("duration_s is more than 0", "POST", "/v1/keys",
     {"api_id": "{api}", "ratelimits": [{**R, "duration_s": 0}]}, "ratelimits[0].duration_s"),
    ("duration_s is at most 400 days", "POST", "/v1/keys",
     {"api_id": "{api}", "ratelimits": [{**R, "duration_s": 401 * 86_400}]},
     "ratelimits[0].duration_s"),
    ("sliding_window limits are at most 100 000", "POST", "/v1/keys",
     {"api_id": "{api}", "ratelimits": [{**R, "limit": 100_001, "algorithm": "sliding_window"}]},
     "ratelimits[0].limit"),
    ("sliding_window takes no burst", "POST", "/v1/keys",
     {"api_id": "{api}", "ratelimits": [{**R, "burst": 5, "algorithm": "sliding_window"}]},
     "ratelimits[0].burst"),
    ("up to 20 rate limits", "POST", "/v1/keys",
     {"api_id": "{api}", "ratelimits": [{**R, "name": f"r{i}"} for i in range(21)]},
     "ratelimits"),
    ("a quota limit is 0 to 10^12", "POST", "/v1/keys",
     {"api_id": "{api}", "quota": {"limit": -1}}, "quota.limit"),
    ("a quota's time zone is an IANA name", "POST", "/v1/keys",
     {"api_id": "{api}", "quota": {"limit": 5, "timezone": "Mars/Olympus"}}, "quota.timezone"),
    ("host-dependent time zones are rejected", "POST", "/v1/keys",
     {"api_id": "{api}", "quota": {"limit": 5, "timezone": "localtime"}}, "quota.timezone"),
    ("host-dependent time zones are rejected", "POST", "/v1/keys",
     {"api_id": "{api}", "quota": {"limit": 5, "timezone": "posix/Europe/Paris"}},
     "quota.timezone"),
    ("offset_s is less than the period's shortest length", "POST", "/v1/keys",
     {"api_id": "{api}", "quota": {"limit": 5, "period": "day", "offset_s": 86_400}},
     "quota.offset_s"),
    ("period is day, week or month", "POST", "/v1/keys",
     {"api_id": "{api}", "quota": {"limit": 5, "period": "year"}}, "quota.period"),
    ("concurrency is 1 to 10^6", "POST", "/v1/keys",
     {"api_id": "{api}", "concurrency": {"limit": 1_000_001}}, "concurrency.limit"),
    ("a refill mode is set or add", "POST", "/v1/keys",
     {"api_id": "{api}",
      "credits": {"remaining": 5, "refill": {"amount": 5, "interval_s": 60, "mode": "mul"}}},
     "credits.refill.mode"),
    ("enabled cannot be null", "PATCH", "/v1/keys/{key}", {"enabled": None}, "enabled"),
    ("verify's key is at most 1024", "POST", "/v1/keys/verify", {"key": "k" * 1025}, "key"),
    ("verify's permission query is at most 1024", "POST", "/v1/keys/verify",
     {"key": "k", "permissions": "p" * 1025}, "permissions"),
    ("verify's cost is 0 to 10^9", "POST", "/v1/keys/verify",
     {"key": "k", "cost": 10**9 + 1}, "cost"),
    ("verify takes up to 20 rate limits", "POST", "/v1/keys/verify",
     {"key": "k", "ratelimits": [{**R, "name": f"r{i}"} for i in range(21)]}, "ratelimits"),
    ("root key permissions: never more than the caller holds", "POST", "/v1/root_keys",
     {"api_ids": ["docs"]}, "api_ids.0"),
    ("min_ttl_s <= default_ttl_s <= max_ttl_s", "PUT", "/v1/apis/{api}/token-policy",
     {"min_ttl_s": 600, "default_ttl_s": 300}, "default_ttl_s"),
    ("min_ttl_s <= default_ttl_s <= max_ttl_s", "PUT", "/v1/apis/{api}/token-policy",
     {"min_ttl_s": 600, "max_ttl_s": 300, "default_ttl_s": 300}, "max_ttl_s"),
    ("algorithm: EdDSA, ES256, RS256 or HS256", "PUT", "/v1/apis/{api}/token-policy",
     {"algorithm": "none"}, "algorithm"),
]  # fmt: skip


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


def named_fields(problem: dict[str, Any]) -> set[str]:
    """The fields a problem names: its ``field``, and each location of ``errors``
    (``body.quota.limit`` and ``body.permissions.0`` read ``quota.limit``, ``permissions.0``)."""
    names = {problem["field"]} if problem.get("field") else set()
    for error in problem.get("errors", ()):
        loc = [str(part) for part in error["loc"] if part not in ("body", "query", "path")]
        names.update(".".join(loc[:n]) for n in range(1, len(loc) + 1))
    return names


def _filled(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names) if value in ("{api}", "{key}") else value
    if isinstance(value, dict):
        return {k: _filled(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, names) for v in value]
    return value


async def test_every_documented_constraint_is_a_422_naming_the_field(world: World) -> None:
    api_id = (await world.api())["id"]
    names = {"api": api_id, "key": (await world.key(api_id))["id"]}
    wrong = []
    for rule, method, path, body, field in REFUSED:
        response = await world.client.request(
            method, path.format(**names), json=_filled(body, names), headers=world.auth()
        )
        if response.status_code != 422:
            wrong.append(f"{rule}: {method} {path} {field} answered {response.status_code}")
            continue
        named = named_fields(assert_problem(response, 422))
        if field not in named:
            wrong.append(f"{rule}: {field} not named, only {sorted(named)}")
    assert not wrong, "\n".join(wrong)
