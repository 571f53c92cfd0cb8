"""Exact under real concurrency: 4 processes x 200 concurrent decisions of one
counter limited to 100 admit exactly 100, whatever the interleaving."""

from __future__ import annotations

import multiprocessing

import pytest

from keystead.limits import Credits, Quota, RateLimit, Spec

from . import _workers
from ._support import NOW, delete_namespace, redis_url

PROCESSES, PER_PROCESS, LIMIT = 4, 200, 100


@pytest.mark.redis
@pytest.mark.parametrize(
    "spec",
    [
        RateLimit("gcra", LIMIT, 3600.0),
        RateLimit("window", LIMIT, 3600.0, algorithm="sliding_window"),
        Quota(LIMIT, "day"),
        Credits(LIMIT),
    ],
    ids=["gcra", "sliding_window", "quota", "credits"],
)
def test_four_processes_admit_exactly_the_limit(spec: Spec, namespace: str) -> None:
    url = redis_url()
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    go = context.Event()
    key = f"{{{namespace}}}counter"
    workers = [
        context.Process(target=_workers.admit, args=(url, key, spec, PER_PROCESS, NOW, go, out))
        for _ in range(PROCESSES)
    ]
    try:
        for worker in workers:
            worker.start()
        go.set()
        admitted = [out.get(timeout=60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
        delete_namespace(url, namespace)
    assert all(isinstance(n, int) for n in admitted), admitted
    assert sum(admitted) == LIMIT, admitted
