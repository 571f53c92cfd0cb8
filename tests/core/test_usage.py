"""Latency histogram and HyperLogLog: the mergeable parts of usage rollups."""

from __future__ import annotations

import math
import random

from keystead.core.usage import (
    Rollup,
    bucket_bounds,
    hll_add,
    hll_count,
    hll_merge,
    hll_new,
    hll_point,
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


def test_hll_merge_is_the_register_wise_max() -> None:
    from keystead.core.usage import HLL_REGISTERS, hll_merge

    rng = random.Random(7)
    for _ in range(300):
        a = bytearray(rng.choice((0, rng.randint(0, 55))) for _ in range(HLL_REGISTERS))
        b = bytes(rng.choice((0, rng.randint(0, 55), a[i])) for i in range(HLL_REGISTERS))
        expected = bytes(map(max, a, b))
        hll_merge(a, b)
        assert bytes(a) == expected
