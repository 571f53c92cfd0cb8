"""Latency histogram and HyperLogLog: the mergeable parts of usage rollups."""

from __future__ import annotations

import math
import random

import pytest

from keystead.core.analytics import latency_mean, merged
from keystead.core.usage import (
    HLL_REGISTERS,
    LATENCY_BUCKETS,
    SPARSE_MAX,
    Rollup,
    bucket_bounds,
    hll_add,
    hll_count,
    hll_decode,
    hll_encode,
    hll_merge,
    hll_new,
    hll_point,
    hll_union,
    latency_bucket,
    percentile,
)

BUCKET_RATIO = 10**0.1  # buckets are a tenth of a decade wide


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_every_latency_falls_in_its_bucket() -> None:
    for ms in (0.0, 0.05, 0.1, 0.99, 1.0, 7.3, 250.0, 59_999.0, 60_000.0, 10**7):
        low, high = bucket_bounds(latency_bucket(ms))
        assert low <= ms < high


def test_percentiles_are_within_one_bucket_of_the_exact_value() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1.5) for _ in range(5000)]
    histogram: dict[int, int] = {}
    for ms in values:
        index = latency_bucket(ms)
        histogram[index] = histogram.get(index, 0) + 1
    for q in (0.5, 0.9, 0.99):
        estimate = percentile(histogram, q)
        assert estimate is not None
        exact = exact_percentile(values, q)
        assert exact / BUCKET_RATIO <= estimate <= exact * BUCKET_RATIO
    assert percentile({}, 0.5) is None


def test_hll_counts_small_sets_almost_exactly() -> None:
    sketch = hll_new()
    hll_add(sketch, [hll_point(f"10.0.0.{i}") for i in range(20)])
    hll_add(sketch, [hll_point("10.0.0.1")])  # a repeat changes nothing
    assert abs(hll_count(sketch) - 20) <= 1
    assert hll_count(hll_new()) == 0


def test_hll_error_and_merge_stay_within_bounds() -> None:
    a, b = hll_new(), hll_new()
    hll_add(a, [hll_point(f"ua-{i}") for i in range(0, 30_000)])
    hll_add(b, [hll_point(f"ua-{i}") for i in range(20_000, 50_000)])
    # standard error 1.04 / sqrt(1024) = 3.3%; allow four of them
    assert abs(hll_count(a) - 30_000) <= 0.13 * 30_000
    hll_merge(a, b)
    assert abs(hll_count(a) - 50_000) <= 0.13 * 50_000


def test_rollups_merge_by_adding() -> None:
    one = Rollup(count=2, codes={"VALID": 2}, statuses={"2xx": 1}, latency={3: 2}, bytes_in=5)
    two = Rollup(count=1, codes={"VALID": 1, "EXPIRED": 1}, latency={3: 1, 9: 1}, bytes_out=7)
    hll_add(two.ips, [hll_point("1.2.3.4")])
    one.merge(two)
    assert (one.count, one.codes, one.statuses) == (3, {"VALID": 3, "EXPIRED": 1}, {"2xx": 1})
    assert (one.latency, one.bytes_in, one.bytes_out) == ({3: 3, 9: 1}, 5, 7)
    assert one.distinct_ips == 1
    assert one.distinct_user_agents == 0


def random_sketch(rng: random.Random, used: int) -> bytearray:
    sketch = hll_new()
    for register in rng.sample(range(HLL_REGISTERS), used):
        sketch[register] = rng.randint(1, 55)
    return sketch


def test_sketches_are_stored_sparse_while_that_is_smaller_and_read_back_exactly() -> None:
    rng = random.Random(3)
    assert hll_encode(hll_new()) == b""
    for used in (1, 2, 12, SPARSE_MAX - 1, SPARSE_MAX, SPARSE_MAX + 1, 700, HLL_REGISTERS):
        sketch = random_sketch(rng, used)
        stored = hll_encode(sketch)
        assert len(stored) == (2 * used if used <= SPARSE_MAX else HLL_REGISTERS)
        assert hll_decode(stored) == sketch
        assert hll_count(hll_decode(stored)) == hll_count(sketch)
    # the last register and the highest rank survive the two-byte form
    edge = hll_new()
    edge[HLL_REGISTERS - 1] = 55
    assert hll_decode(hll_encode(edge)) == edge


def test_unreadable_stored_sketches_count_as_empty() -> None:
    for stored in (None, b"", b"\x01", b"\x00" * 1023, b"\xff\xff", b"\x00\x01" * 400):
        assert hll_decode(stored) == hll_new()


def test_union_of_many_equals_pairwise_merges() -> None:
    rng = random.Random(11)
    sketches = [random_sketch(rng, rng.randint(0, HLL_REGISTERS)) for _ in range(40)]
    expected = hll_new()
    for sketch in sketches:
        hll_merge(expected, sketch)
    assert hll_union(sketches) == expected
    assert hll_union([]) == hll_new()
    assert hll_union([hll_new(), sketches[0]]) == sketches[0]


def test_merged_rollups_add_counts_and_unite_sketches() -> None:
    rng = random.Random(5)
    parts = []
    for _ in range(5):
        r = Rollup(count=3, codes={"VALID": 2, "EXPIRED": 1}, bytes_in=10, bytes_out=20)
        r.latency[latency_bucket(rng.uniform(1, 100))] = 3
        r.ips = random_sketch(rng, 50)
        parts.append(r)
    total = merged(parts)
    assert (total.count, total.codes, total.bytes_in) == (15, {"VALID": 10, "EXPIRED": 5}, 50)
    assert sum(total.latency.values()) == 15
    assert total.ips == hll_union(p.ips for p in parts)
    assert parts[0].count == 3  # the parts are left as they were


def test_mean_latency_counts_each_bucket_at_its_middle() -> None:
    for index in range(LATENCY_BUCKETS):
        low, high = bucket_bounds(index)
        mean = latency_mean({index: 4})
        assert mean is not None
        assert low <= mean < high or (math.isinf(high) and mean == low)
    assert latency_mean({}) is None


def test_hll_merge_is_the_register_wise_max() -> None:
    rng = random.Random(7)
    for _ in range(300):
        a = bytearray(rng.choice((0, rng.randint(0, 55))) for _ in range(HLL_REGISTERS))
        b = bytes(rng.choice((0, rng.randint(0, 55), a[i])) for i in range(HLL_REGISTERS))
        expected = bytes(map(max, a, b))
        hll_merge(a, b)
        assert bytes(a) == expected


def test_tiles_cover_a_range_with_the_fewest_rollups() -> None:
    from keystead.core.usage import tiles

    day, hour, minute = 86_400, 3_600, 60
    start = 10 * day + 22 * hour  # 22:00 on day 10
    end = 13 * day + 2 * hour  # 02:00 on day 13
    assert tiles(start, end, "hour") == [
        ("hour", start, 11 * day),
        ("day", 11 * day, 13 * day),
        ("hour", 13 * day, end),
    ]
    assert tiles(10 * day, 12 * day, "day") == [("day", 10 * day, 12 * day)]
    assert tiles(start, start + 2 * hour, "hour") == [("hour", start, start + 2 * hour)]
    edges = tiles(start - 5 * minute, end + 7 * minute, "minute")
    assert edges[0] == ("minute", start - 5 * minute, start)
    assert edges[-1] == ("minute", end, end + 7 * minute)
    # every minute of the range lies in exactly one tile
    sizes = {"minute": minute, "hour": hour, "day": day}
    covered = [
        m
        for granularity, first, last in edges
        for b in range(first, last, sizes[granularity])
        for m in range(b, b + sizes[granularity], minute)
    ]
    assert covered == list(range(start - 5 * minute, end + 7 * minute, minute))


def test_latency_figures_in_one_pass_equal_mean_and_percentiles() -> None:
    from keystead.core.analytics import latency_figures

    rng = random.Random(9)
    assert latency_figures({}) == (None, None, None)
    for _ in range(200):
        histogram = {
            rng.randrange(LATENCY_BUCKETS): rng.randint(1, 50) for _ in range(rng.randint(1, 30))
        }
        mean, p50, p99 = latency_figures(histogram)
        assert mean == pytest.approx(latency_mean(histogram))
        assert (p50, p99) == (percentile(histogram, 0.5), percentile(histogram, 0.99))
