"""The exposure label of a leaked key, on crafted records: each reason for
``abused`` on its own, and the quiet cases (no use, a key's usual clients)."""

from __future__ import annotations

import json
from typing import Any

from keystead.core.exposure import (
    ABUSED,
    MAX_VALUES,
    NO_SIGN,
    History,
    NewValue,
    assess,
    history_of,
    leaked_use,
)
from keystead.core.usage import UsageRecord

HOUR = 3600.0
LEAK = 1_750_000_000.0 - 1_750_000_000.0 % HOUR  # on the hour: simple rates
UNTIL = LEAK + 2 * HOUR


def _use(at: float, **fields: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "ip": "203.0.113.7",
        "country": "FR",
        "user_agent": "billing/2.1",
        "code": "VALID",
    }
    values.update(fields)
    return UsageRecord(at, "ws_1", "api_1", "key_1", None, **values)


def _usual_week() -> list[UsageRecord]:
    """Two calls an hour for 48 hours before the leak, from one client."""
    return [_use(LEAK - h * HOUR + m) for h in range(1, 49) for m in (60, 1800)]


def _assess(before: list[UsageRecord], after: list[UsageRecord]) -> Any:
    return assess(history_of(before, LEAK), after, LEAK, UNTIL)


def test_no_use_after_the_leak_is_no_sign_of_abuse() -> None:
    exposure = _assess(_usual_week(), [])

    assert (exposure.label, exposure.reasons) == (NO_SIGN, ())
    assert exposure.requests_after == 0
    assert exposure.as_json()["summary"] == "no sign of abuse: the key was not used after the leak"


def test_the_usual_client_at_the_usual_rate_is_no_sign_of_abuse() -> None:
    after = [_use(LEAK + 60), _use(LEAK + 1800, ip="203.0.113.250"), _use(LEAK + 4000)]

    exposure = _assess(_usual_week(), after)

    assert (exposure.label, exposure.reasons) == (NO_SIGN, ())
    assert exposure.history is not None
    assert (exposure.history.requests, exposure.history.per_hour) == (96, 2.0)
    assert exposure.per_hour_after == 1.5
    assert exposure.ratio == 0.75


def test_a_new_network_after_the_leak_is_abuse() -> None:
    after = [
        _use(LEAK + 10),
        _use(LEAK + 20, ip="198.51.100.9"),
        _use(LEAK + 30, ip="198.51.100.200"),
        _use(LEAK + 40, ip="2001:db8:5::1"),
    ]

    exposure = _assess(_usual_week(), after)

    assert (exposure.label, exposure.reasons) == (ABUSED, ("new_ip_range",))
    found = exposure.as_json()["new"]["ip_ranges"]
    assert found["count"] == 2
    assert [(v["value"], v["requests"]) for v in found["values"]] == [
        ("198.51.100.0/24", 2),
        ("2001:db8:5::/48", 1),
    ]
    assert found["values"][0]["first_seen"] == "2025-06-15T15:00:20+00:00"


def test_a_new_country_after_the_leak_is_abuse() -> None:
    exposure = _assess(_usual_week(), [_use(LEAK + 5, country="KP"), _use(LEAK + 6, country=None)])

    assert (exposure.label, exposure.reasons) == (ABUSED, ("new_country",))
    assert [v.value for v in exposure.new["countries"]] == ["KP"]


def test_a_new_user_agent_after_the_leak_is_abuse() -> None:
    exposure = _assess(_usual_week(), [_use(LEAK + 5, user_agent="curl/8.5.0")])

    assert exposure.reasons == ("new_user_agent",)
    assert exposure.abused
    assert exposure.as_json()["new"]["user_agents"]["values"][0]["value"] == "curl/8.5.0"


def test_a_volume_spike_from_known_clients_is_abuse() -> None:
    # 2 an hour before; 30 in the 2 hours after is 15 an hour: 7.5x
    after = [_use(LEAK + i * 200) for i in range(30)]

    exposure = _assess(_usual_week(), after)

    assert (exposure.label, exposure.reasons) == (ABUSED, ("volume_spike",))
    assert exposure.ratio == 7.5
    body = exposure.as_json()
    assert (body["after"]["per_hour"], body["before"]["per_hour"]) == (15.0, 2.0)


def test_a_burst_below_the_spike_floor_is_not_a_spike() -> None:
    # 9 calls in a minute: over 5x the usual rate, but fewer than 10 requests
    exposure = _assess(_usual_week(), [_use(LEAK + i) for i in range(9)])

    assert exposure.label == NO_SIGN


def test_a_key_with_no_history_used_after_the_leak_is_abuse() -> None:
    exposure = _assess([], [_use(LEAK + 5)])

    assert (exposure.label, exposure.reasons) == (ABUSED, ("no_history",))
    assert exposure.history is None and exposure.ratio is None
    body = exposure.as_json()
    assert body["before"] is None
    assert body["new"]["countries"]["values"][0]["value"] == "FR"


def test_a_key_with_no_history_and_no_use_is_no_sign_of_abuse() -> None:
    assert _assess([], []).label == NO_SIGN


def test_records_outside_the_window_are_not_counted() -> None:
    late = [_use(UNTIL + 1, country="KP"), _use(LEAK - 1, country="KP")]

    exposure = assess(history_of(_usual_week(), LEAK), late, LEAK, UNTIL)

    assert (exposure.label, exposure.requests_after) == (NO_SIGN, 0)


def test_every_outcome_counts_as_a_use() -> None:
    after = [_use(LEAK + 1, code="RATE_LIMITED", country="BR"), _use(LEAK + 2, code="VALID")]

    exposure = _assess(_usual_week(), after)

    assert exposure.codes == {"RATE_LIMITED": 1, "VALID": 1}
    assert exposure.reasons == ("new_country",)


def test_evidence_is_capped_and_counts_everything() -> None:
    after = [_use(LEAK + i, user_agent=f"bot/{i:03}") for i in range(50)]

    exposure = _assess(_usual_week(), after)

    body = exposure.as_json()["new"]["user_agents"]
    assert body["count"] == 50
    assert len(body["values"]) == MAX_VALUES
    assert body["values"][0]["value"] == "bot/000"  # first seen first


def test_a_cut_short_window_keeps_its_true_count() -> None:
    history = History(requests=48, seconds=24 * HOUR)
    exposure = assess(history, [_use(LEAK + 1)], LEAK, UNTIL, requests_after=400)

    assert exposure.truncated and exposure.requests_after == 400
    assert "volume_spike" in exposure.reasons


def test_values_beyond_the_records_read_count_without_times() -> None:
    history = history_of(_usual_week(), LEAK)
    beyond = {"ip": ["203.0.113.9", "198.51.100.1"], "country": ["FR"], "user_agent": []}

    exposure = assess(history, [_use(LEAK + 1)], LEAK, UNTIL, requests_after=5, beyond=beyond)

    assert exposure.reasons == ("new_ip_range",)
    assert exposure.new["ip_ranges"] == (NewValue("198.51.100.0/24", None, None),)
    assert exposure.as_json()["new"]["ip_ranges"]["values"] == [
        {"value": "198.51.100.0/24", "first_seen": None, "requests": None}
    ]


def test_the_evidence_is_json_and_holds_no_key() -> None:
    exposure = _assess(_usual_week(), [_use(LEAK + 5, ip="198.51.100.1")])

    text = json.dumps(exposure.as_json())

    assert "key_1" not in text  # the evidence is about the key: it repeats no id or key
    assert json.loads(text)["label"] == ABUSED


def test_leaked_use_fires_on_uses_at_or_after_the_leak_only() -> None:
    records = [
        _use(LEAK - 10),
        _use(LEAK, ip="198.51.100.1"),
        _use(LEAK + 5, code="REVOKED"),
        UsageRecord(LEAK + 9, "ws_1", "api_1", "key_2", None, "VALID"),
    ]

    (finding,) = leaked_use(records, {"key_1": LEAK, "key_3": LEAK})

    assert (finding.scope, finding.scope_id) == ("key", "key_1")
    assert finding.summary["uses"] == 2
    assert finding.summary["codes"] == ["REVOKED", "VALID"]
    assert finding.summary["ips"] == ["198.51.100.1", "203.0.113.7"]
    assert [r.at for r in finding.records] == [LEAK, LEAK + 5]
