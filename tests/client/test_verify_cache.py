"""The verify cache: what it keeps, for how long, under which name; and the
clients answering from it against the real HTTP app (in-process)."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from keystead.client import Client, UsageReport, VerifyResult
from keystead.client._cache import VerifyCache, cacheable
from keystead.client._verify import LimitInfo, VerifyRequest

from .conftest import BASE_URL, App
from .flavours import FAST, ROOT_KEY
from .scripted import Answer, scripted

KEY = "ks_3kT9xQ2bR7mN4pL8vW1cY6zH5jF0dG9sA2eK7uT4"
GOOD = VerifyResult(valid=True, code="VALID", key_id="key_1", api_id="api_1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cache(ttl_s: float = 10.0, **options: int) -> tuple[VerifyCache, Clock]:
    clock = Clock()
    return VerifyCache(ttl_s, monotonic=clock, wall=time.time, **options), clock


def test_entries_are_named_by_a_keyed_hash_never_the_key() -> None:
    cache, _ = _cache()
    other, _ = _cache()
    request = VerifyRequest(key=KEY, ip="192.0.2.1")

    name = cache.fingerprint(request)

    assert len(name) == 32 and KEY.encode() not in name
    assert name == cache.fingerprint(VerifyRequest(key=KEY, ip="192.0.2.1"))
    assert name != other.fingerprint(request)  # a secret of its own per cache
    for changed in ("ip", "referrer", "user_agent", "method", "path", "permissions"):
        other_context: dict[str, Any] = {changed: "x"}
        assert cache.fingerprint(dataclasses.replace(request, **other_context)) != name
    assert cache.fingerprint(dataclasses.replace(request, cost=0)) != name
    cache.put(name, GOOD, cache.generation)
    assert KEY not in repr(cache) and KEY not in repr(vars(cache))


def test_an_entry_lives_its_ttl() -> None:
    cache, clock = _cache(ttl_s=5.0)
    cache.put(b"n", GOOD, cache.generation)

    kept = cache.get(b"n")
    clock.now += 4.9
    still = cache.get(b"n")
    clock.now += 0.2

    assert kept == dataclasses.replace(GOOD, cached=True)
    assert still is not None
    assert cache.get(b"n") is None
    assert (cache.hits, cache.misses, len(cache)) == (2, 1, 0)


def test_an_entry_never_outlives_its_key() -> None:
    cache, clock = _cache(ttl_s=60.0)
    soon = dataclasses.replace(GOOD, expires_at=datetime.now(UTC) + timedelta(seconds=2))
    gone = dataclasses.replace(GOOD, expires_at=datetime.now(UTC) - timedelta(seconds=1))

    cache.put(b"soon", soon, cache.generation)
    cache.put(b"gone", gone, cache.generation)
    clock.now += 2.5

    assert cache.get(b"soon") is None
    assert cache.get(b"gone") is None


@pytest.mark.parametrize(
    "result",
    [
        VerifyResult(valid=False, code="REVOKED", key_id="key_1"),
        dataclasses.replace(GOOD, limits=(LimitInfo("rps", "rate_limit", 5, 4, 1.0, None),)),
        dataclasses.replace(GOOD, leases=("lease|1",)),
        dataclasses.replace(GOOD, shed=True),
        dataclasses.replace(GOOD, key_id=None),
    ],
    ids=["invalid", "limits", "leases", "shed", "no-key-id"],
)
def test_only_answers_that_bypass_nothing_are_kept(result: VerifyResult) -> None:
    cache, _ = _cache()

    cache.put(b"n", result, cache.generation)

    assert cache.get(b"n") is None
    assert cacheable(GOOD) and (result.key_id is None or not cacheable(result))


def test_an_answer_older_than_an_eviction_is_not_kept() -> None:
    cache, _ = _cache()
    generation = cache.generation  # the request goes out ...
    cache.evict_key("key_9")  # ... a change is announced meanwhile ...

    cache.put(b"n", GOOD, generation)  # ... and the answer may predate it

    assert cache.get(b"n") is None


def test_evicting_a_key_drops_its_answers_only() -> None:
    cache, _ = _cache()
    other = dataclasses.replace(GOOD, key_id="key_2")
    for name, result in ((b"a", GOOD), (b"b", GOOD), (b"c", other)):
        cache.put(name, result, cache.generation)

    cache.evict_key("key_1")

    assert (cache.get(b"a"), cache.get(b"b")) == (None, None)
    assert cache.get(b"c") is not None
    cache.clear()
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_first() -> None:
    cache, _ = _cache(max_entries=2)
    cache.put(b"a", GOOD, cache.generation)
    cache.put(b"b", GOOD, cache.generation)
    cache.get(b"a")

    cache.put(b"c", GOOD, cache.generation)

    assert cache.get(b"b") is None
    assert cache.get(b"a") is not None and cache.get(b"c") is not None
    assert len(cache) == 2


def test_bad_settings_are_refused() -> None:
    for ttl in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            VerifyCache(ttl)
    with pytest.raises(ValueError, match="verify_cache_ttl"):
        Client("http://ks.test", ROOT_KEY, verify_cache_ttl=float("inf"))
    with pytest.raises(ValueError, match="invalidation"):
        Client("http://ks.test", ROOT_KEY, invalidation=True)


# -- the client answering from its cache ----------------------------------------------


def _cached_client(app: App, ttl_s: float) -> Client:
    return Client(BASE_URL, app.root_key, transport=app.transport, verify_cache_ttl=ttl_s)


def test_a_second_verification_is_answered_from_the_cache(app: App) -> None:
    api = app.client.create_api("cached")
    key = app.client.create_key(api["id"], permissions=["a.read"])

    with _cached_client(app, 60.0) as client:
        first = client.verify(key["key"], permissions="a.read", ip="192.0.2.1")
        second = client.verify(key["key"], permissions="a.read", ip="192.0.2.1")
        elsewhere = client.verify(key["key"], permissions="a.read", ip="192.0.2.2")
        cache = client.verify_cache

    assert (first.cached, second.cached, elsewhere.cached) == (False, True, False)
    assert dataclasses.replace(second, cached=False) == first
    assert cache is not None and (cache.hits, cache.misses) == (1, 2)


def test_without_invalidation_a_revocation_shows_after_the_ttl(app: App) -> None:
    api = app.client.create_api("ttl")
    key = app.client.create_key(api["id"])

    with _cached_client(app, 0.3) as client:
        assert client.verify(key["key"]).valid
        app.client.revoke_key(key["id"])
        stale = client.verify(key["key"])
        time.sleep(0.35)
        fresh = client.verify(key["key"])

    assert (stale.code, stale.cached) == ("VALID", True)  # the trade-off of a TTL alone
    assert (fresh.code, fresh.cached) == ("REVOKED", False)


def test_limited_keys_and_per_call_limits_always_ask_the_server(app: App) -> None:
    api = app.client.create_api("metered")
    limited = app.client.create_key(api["id"], credits={"remaining": 5})
    plain = app.client.create_key(api["id"])
    extra = [{"name": "burst", "limit": 10, "duration_s": 1.0}]

    with _cached_client(app, 60.0) as client:
        spent = [client.verify(limited["key"]).limits[0].remaining for _ in range(3)]
        per_call = [client.verify(plain["key"], ratelimits=extra) for _ in range(2)]

    assert spent == [4, 3, 2]
    assert [r.cached for r in per_call] == [False, False]
    assert [r.limits[0].remaining for r in per_call] == [9, 8]


def test_answers_from_the_cache_are_reported_as_usage(app: App) -> None:
    api = app.client.create_api("reported")
    key = app.client.create_key(api["id"])

    with _cached_client(app, 60.0) as client:
        for _ in range(3):
            client.verify(key["key"], ip="192.0.2.7", method="GET", path="/docs")
        client.verify(key["key"], ip="192.0.2.7", method="GET", path="/docs", record=False)
        client.flush_usage()

    app.runner.run(app.ks.flush())
    operator = app.runner.run(app.ks.workspaces.local_operator())
    records = app.runner.run(app.ks.usage.records(operator, key_id=key["id"]))
    # one verification the server recorded, two cache hits the client reported;
    # the record=False hit is the caller's to report
    assert len(records) == 3
    assert {(r.code, r.ip, r.method, r.path) for r in records} == {
        ("VALID", "192.0.2.7", "GET", "/docs")
    }


def test_a_server_without_record_false_is_used_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unknown = {
        "title": "Invalid request",
        "status": 422,
        "detail": "record: Extra inputs are not permitted",
        "errors": [{"loc": ["body", "record"], "msg": "extra", "type": "extra_forbidden"}],
    }
    valid = {"valid": True, "code": "VALID", "key_id": "key_1"}
    with scripted(Answer(422, unknown), Answer(200, valid), Answer(200, valid)) as server:
        with Client(server.url, ROOT_KEY, **FAST) as client, caplog.at_level(logging.WARNING):
            first = client.verify(KEY, record=False)
            second = client.verify(KEY, record=False)

    bodies = [body for _, _, body in server.seen]
    assert first.valid and second.valid
    assert [b'"record"' in body for body in bodies] == [True, False, False]
    assert sum("record=false" in r.getMessage() for r in caplog.records) == 1
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_queued_reports_wait_when_the_server_is_away() -> None:
    report = UsageReport(key_id="key_1", code="VALID", at=time.time(), status=200)
    with scripted(Answer(503, {"title": "busy"}), Answer(200, {})) as server:
        with Client(server.url, ROOT_KEY, **FAST) as client:
            client.queue_usage(report)
            client.flush_usage()  # refused for now: kept
            waiting_after_503 = client.usage_pending
        # closing sent what waited
    assert waiting_after_503 == 1
    assert [path for _, path in server.methods_and_paths] == ["/v1/usage/records"] * 2
