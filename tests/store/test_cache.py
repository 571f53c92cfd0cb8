from keystead.store.cache import MISS, TtlLruCache


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_hit_miss_and_ttl() -> None:
    clock = FakeMonotonic()
    cache: TtlLruCache[str] = TtlLruCache(10, ttl=5, negative_ttl=1, monotonic=clock)
    cache.put(b"a", "A", "id-a")
    cache.put(b"n", None)
    assert cache.get(b"a") == "A"
    assert cache.get(b"n") is None
    assert cache.get(b"x") is MISS
    clock.now = 1.5
    assert cache.get(b"n") is MISS  # negative entries live shorter
    assert cache.get(b"a") == "A"
    clock.now = 5.0
    assert cache.get(b"a") is MISS


def test_lru_eviction_keeps_recently_used() -> None:
    cache: TtlLruCache[int] = TtlLruCache(2, ttl=60, negative_ttl=1)
    cache.put(b"1", 1)
    cache.put(b"2", 2)
    assert cache.get(b"1") == 1
    cache.put(b"3", 3)
    assert cache.get(b"2") is MISS
    assert cache.get(b"1") == 1
    assert len(cache) == 2


def test_invalidate_by_id_and_predicate() -> None:
    cache: TtlLruCache[int] = TtlLruCache(10, ttl=60, negative_ttl=1)
    cache.put(b"1", 1, "key_1")
    cache.put(b"2", 2, "key_2")
    cache.invalidate_id("key_1")
    assert cache.get(b"1") is MISS
    assert cache.invalidate_where(lambda v: v == 2) == 1
    assert len(cache) == 0


def test_zero_size_caches_nothing() -> None:
    cache: TtlLruCache[int] = TtlLruCache(0, ttl=60, negative_ttl=1)
    cache.put(b"1", 1)
    assert cache.get(b"1") is MISS
