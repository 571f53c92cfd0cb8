"""Exactness across processes: 4 processes x 200 concurrent verifications of one
key, through the whole service, on one store and the real Redis."""

import asyncio
import multiprocessing
import os
from typing import Any

import pytest

from keystead.config import Settings
from keystead.core.models import Code
from keystead.service import Keystead

REDIS_ENV = "KEYSTEAD_TEST_REDIS_URL"
PROCESSES = 4
PER_PROCESS = 200

pytestmark = pytest.mark.skipif(
    not os.environ.get(REDIS_ENV), reason=f"{REDIS_ENV} is not set: needs Redis"
)


def _hammer(
    options: dict[str, str], key: str, out: "multiprocessing.Queue[dict[str, int] | str]"
) -> None:
    async def run() -> dict[str, int]:
        settings = Settings(_env_file=None, **options)  # type: ignore[arg-type]
        ks = await Keystead.open(settings=settings, create_secret=False)
        try:
            await ks.verify(key, cost=0)  # warm the cache: the burst below is all limiter
            verdicts = await asyncio.gather(*(ks.verify(key) for _ in range(PER_PROCESS)))
        finally:
            await ks.close()
        counts: dict[str, int] = {}
        for verdict in verdicts:
            counts[verdict.code.value] = counts.get(verdict.code.value, 0) + 1
        return counts

    try:
        out.put(asyncio.run(run()))
    except Exception as exc:  # reported to the parent, which fails the test with it
        out.put(f"{type(exc).__name__}: {exc}")


async def _run_everywhere(settings: Settings, key: str) -> dict[str, int]:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[dict[str, int] | str] = context.Queue()
    assert settings.secret is not None
    options = {
        "database_url": settings.database_url,
        "secret": settings.secret.get_secret_value(),
        "limits_url": settings.limits_url,
    }
    workers = [
        context.Process(target=_hammer, args=(options, key, queue)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    totals: dict[str, int] = {}
    for _ in workers:
        result = await asyncio.to_thread(queue.get, True, 120)
        assert not isinstance(result, str), f"a worker failed: {result}"
        for code, count in result.items():
            totals[code] = totals.get(code, 0) + count
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    return totals


@pytest.mark.parametrize(
    ("limits", "refused"),
    [
        ({"ratelimits": [{"name": "hour", "limit": 100, "duration_s": 3600}]}, Code.RATE_LIMITED),
        (
            {
                "ratelimits": [
                    {
                        "name": "strict",
                        "limit": 100,
                        "duration_s": 3600,
                        "algorithm": "sliding_window",
                    }
                ]
            },
            Code.RATE_LIMITED,
        ),
        ({"quota": {"limit": 100, "period": "month"}}, Code.USAGE_EXCEEDED),
        ({"credits": {"remaining": 100}}, Code.USAGE_EXCEEDED),
    ],
    ids=["gcra", "sliding_window", "quota", "credits"],
)
async def test_exactly_the_limit_is_admitted(
    settings: Settings, limits: dict[str, Any], refused: Code
) -> None:
    shared = settings.model_copy(
        update={"limits_url": os.environ[REDIS_ENV], "secret_file": settings.secret_file}
    )
    ks = await Keystead.open(settings=shared)
    try:
        admin = await ks.workspaces.local_operator()
        api = await ks.apis.create(admin, name="exact")
        created = await ks.keys.create(admin, api_id=api.id, **limits)
        totals = await _run_everywhere(shared, created.plaintext)
        assert totals == {Code.VALID.value: 100, refused.value: PROCESSES * PER_PROCESS - 100}
        if "credits" in limits:
            assert await ks.keys.credits(admin, created.key.id) == 0
    finally:
        workspaces = [w.id for w in await ks.workspaces.list()]
        await ks.close()
        import redis

        client = redis.Redis.from_url(os.environ[REDIS_ENV])
        for ws in workspaces:
            doomed = list(client.scan_iter(match=f"{{{ws}}}*"))
            if doomed:
                client.delete(*doomed)
        client.close()
