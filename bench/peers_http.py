"""Keystead-protected endpoints against two peers, over HTTP, 2 workers each, in one run.

    .venv/bin/python bench/peers_http.py            # full run (about 2.5 min)
    .venv/bin/python bench/peers_http.py --quick    # smoke run (about 30 s, plus pip once)

Four servers of the same endpoint, ``GET /api/data`` answering
``{"data": [1, 2, 3]}``, each with 2 worker processes:

(a) the seeds' Flask + Redis example (bench/seed_flask_app.py, the "before" of
    docs/integrations.md: any ``X-API-Key`` is accepted, ``INCR key:second`` +
    ``EXPIRE`` against the real Redis at ``KEYSTEAD_TEST_REDIS_URL`` or
    redis://127.0.0.1:6379/0, its limit raised so that nothing is refused),
    under gunicorn, sync workers;
(b) djangorestframework-api-key: a minimal Django project generated in a temp
    directory (one ``APIView`` with ``permission_classes = [HasAPIKey]``, SQLite,
    1,000 keys made with ``APIKey.objects.create_key``), under gunicorn, sync
    workers. Set up in the peer's favour: no Django middleware at all and a
    persistent database connection (``CONN_MAX_AGE = None``);
(c) the same Flask endpoint protected by Keystead's Flask extension
    (bench/keystead_flask_app.py: ``Keystead(app)`` + ``@require_key``), under
    gunicorn, sync workers like the peers;
(d) the Starlette endpoint of bench/middleware_app.py protected by Keystead's
    ASGI middleware, under uvicorn --workers 2 (httptools + uvloop).

The peers' packages live in their own virtualenvs (bench/.peers/flask-redis:
flask, gunicorn, redis; bench/.peers/drf-http: django, djangorestframework,
djangorestframework-api-key, gunicorn). Keystead's variants run on the
project's interpreter and packages (.venv). gunicorn is not a project
dependency and nothing is added to pyproject.toml: (c) runs .venv's python
with the gunicorn of bench/.peers/gunicorn (gunicorn only) appended to
``sys.path``, so Keystead, Flask and everything else come from .venv.

Keystead's key (a SQLite store of 1,000 keys in the temp directory) is cached
after the first request, has one rate limit that never refuses, and usage
recording is on with the writer process ``keystead serve`` uses
(``KEYSTEAD_USAGE_WRITER=process``: one writer beside each worker). The peers
record nothing (b) or count in Redis (a); neither checks a rate limit on the
key itself the way Keystead does.

The machine has 2 cores for all of it: the workers, their writers, Redis and
wrk (2 threads) share them, nothing pinned. So beside req/s the bench reads the
CPU time of each server's whole process tree (master, workers, writers) from
/proc around each run, and of the Redis server for (a) when it is local:
CPU per request, which depends far less than req/s on who else used the
cores. gunicorn's sync workers close the connection after each answer (wrk
reconnects), uvicorn keeps it alive: part of (d)'s lead is that.

Runs alternate between the four servers; the figure is the median run. Every
answer must be a 200 (wrk's non-2xx count), each server must refuse a request
without a key, and Keystead's usage rows afterwards must cover the requests (c)
and (d) answered.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

from _common import BENCH_DIR, ROOT, machine_rows, median, peer_python, print_table, require_tool
from _serving import (
    PATH,
    Run,
    Server,
    bootstrap_store,
    errors_of,
    expect,
    fixed,
    fmt_us,
    get,
    header_lua,
    rows_written,
    server_env,
    start,
    stop,
    tree,
    wait_ready,
    write_json,
    wrk,
)
from http_verify import free_port, uvicorn_argv

WORKERS = 2
FLASK_REDIS = ["flask", "gunicorn", "redis"]
DRF = ["django", "djangorestframework", "djangorestframework-api-key>=3,<4", "gunicorn"]
GUNICORN = ["gunicorn"]
GUNICORN_BOOT = (
    "import sys; sys.path.append(sys.argv.pop(1)); sys.argv[0] = 'gunicorn'; "
    "from gunicorn.app.wsgiapp import run; sys.exit(run())"
)
LABELS = {
    "seed": "(a) seeds' Flask + Redis, gunicorn sync",
    "drf": "(b) DRF + drf-api-key HasAPIKey, gunicorn sync",
    "ks_flask": "(c) Flask + Keystead extension, gunicorn sync",
    "ks_starlette": "(d) Starlette + KeysteadMiddleware, uvicorn",
}
PEERS = ("seed", "drf")
KEYSTEAD = ("ks_flask", "ks_starlette")

SETTINGS = """\
SECRET_KEY = "bench-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_api_key",
]
MIDDLEWARE = []
ROOT_URLCONF = "benchproject.urls"
WSGI_APPLICATION = "benchproject.wsgi.application"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": %r, "CONN_MAX_AGE": None}
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""
URLS = """\
from django.urls import path

from benchproject.views import Data

urlpatterns = [path("api/data", Data.as_view())]
"""
VIEWS = """\
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey


class Data(APIView):
    permission_classes = [HasAPIKey]

    def get(self, request):
        return Response({"data": [1, 2, 3]})
"""
WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")
application = get_wsgi_application()
"""
SETUP = """\
import json, os, sys
from importlib.metadata import version

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")
import django

django.setup()
from django.core.management import call_command
from django.db import transaction
from rest_framework_api_key.models import APIKey

call_command("migrate", verbosity=0, interactive=False)
with transaction.atomic():
    keys = [APIKey.objects.create_key(name=f"bench-{i}")[1] for i in range(1000)]
names = ("django", "djangorestframework", "djangorestframework-api-key", "gunicorn")
json.dump(
    {
        "key": keys[500],
        "hasher": type(APIKey.objects.key_generator.preferred_hasher).__name__,
        "versions": {name: version(name) for name in names},
    },
    sys.stdout,
)
"""
VERSIONS = (
    "import json, sys; from importlib.metadata import version; "
    "json.dump({n: version(n) for n in sys.argv[1:]}, sys.stdout)"
)


@dataclass(frozen=True)
class Target:
    server: Server
    headers: dict[str, str]
    watch: dict[str, Callable[[], Sequence[int]]]


def versions(python: Path, names: Sequence[str]) -> dict[str, str]:
    done = subprocess.run(
        [str(python), "-c", VERSIONS, *names], check=True, capture_output=True, text=True
    )
    found: dict[str, str] = json.loads(done.stdout)
    return found


def purelib(python: Path) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def gunicorn_options(port: int, pythonpath: Path, target: str) -> list[str]:
    return [
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--pythonpath",
        str(pythonpath),
        target,
    ]


def django_project(tmp: Path, python: Path) -> tuple[Path, dict[str, object]]:
    """The peer's project in ``tmp/drf``, migrated, with 1,000 keys; returns its
    directory and {"key", "hasher", "versions"}."""
    home = tmp / "drf"
    package = home / "benchproject"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS % str(home / "db.sqlite3"))
    (package / "urls.py").write_text(URLS)
    (package / "views.py").write_text(VIEWS)
    (package / "wsgi.py").write_text(WSGI)
    done = subprocess.run(
        [str(python), "-c", SETUP], cwd=home, check=True, capture_output=True, text=True
    )
    made: dict[str, object] = json.loads(done.stdout)
    return home, made


def redis_process(url: str) -> tuple[int | None, str]:
    """The local Redis server's pid (None when it is not readable here) and version."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        info = client.info("server")
    finally:
        client.close()
    pid = int(info["process_id"])
    local = urlparse(url).hostname in ("127.0.0.1", "localhost", "::1")
    try:
        named = "redis" in Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        named = False
    return (pid if local and named else None), str(info["redis_version"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    seconds, rounds, warmup = (3, 1, 1) if args.quick else (args.seconds, args.rounds, 3)
    started = time.monotonic()
    redis_url = os.environ.get("KEYSTEAD_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    redis_pid, redis_version = redis_process(redis_url)
    flask_python = peer_python("flask-redis", FLASK_REDIS)
    drf_python = peer_python("drf-http", DRF)
    gunicorn_python = peer_python("gunicorn", GUNICORN)
    stacks = {
        "seed": versions(flask_python, ["flask", "gunicorn", "redis"]),
        "ks_flask": {
            "flask": version("flask"),
            "gunicorn": versions(gunicorn_python, ["gunicorn"])["gunicorn"],
            "keystead": version("keystead"),
        },
        "ks_starlette": {
            "starlette": version("starlette"),
            "uvicorn": version("uvicorn"),
            "keystead": version("keystead"),
        },
    }
    stacks["seed"]["redis server"] = redis_version

    with tempfile.TemporaryDirectory(prefix="ks-peers-http-") as tmp_name:
        tmp = Path(tmp_name)
        env, key = asyncio.run(bootstrap_store(tmp))
        keystead_env = server_env({**env, "KEYSTEAD_USAGE_WRITER": "process"})
        drf_home, drf = django_project(tmp, drf_python)
        drf_versions = drf["versions"]
        assert isinstance(drf_versions, dict)
        stacks["drf"] = {**drf_versions, "hasher": str(drf["hasher"])}
        seed_env = server_env({"SEED_REDIS_URL": redis_url, "SEED_LIMIT": str(10**9)})
        ports = {name: free_port() for name in LABELS}
        argvs = {
            "seed": [
                str(flask_python),
                "-m",
                "gunicorn",
                *gunicorn_options(ports["seed"], BENCH_DIR, "seed_flask_app:app"),
            ],
            "drf": [
                str(drf_python),
                "-m",
                "gunicorn",
                *gunicorn_options(ports["drf"], drf_home, "benchproject.wsgi:application"),
            ],
            "ks_flask": [
                sys.executable,
                "-c",
                GUNICORN_BOOT,
                purelib(gunicorn_python),
                *gunicorn_options(ports["ks_flask"], BENCH_DIR, "keystead_flask_app:app"),
            ],
            "ks_starlette": uvicorn_argv(
                "middleware_app:starlette_protected", ports["ks_starlette"], workers=WORKERS
            ),
        }
        environs = {
            "seed": seed_env,
            "drf": server_env({}),
            "ks_flask": keystead_env,
            "ks_starlette": keystead_env,
        }
        headers = {
            "seed": {"X-API-Key": secrets.token_urlsafe(24)},  # any key passes
            "drf": {"Authorization": f"Api-Key {drf['key']}"},
            "ks_flask": {"X-API-Key": key},
            "ks_starlette": {"X-API-Key": key},
        }
        targets: dict[str, Target] = {}
        results: dict[str, list[Run]] = {name: [] for name in LABELS}
        answered = 0  # by Keystead's servers, warm-ups and checks included
        try:
            for name in LABELS:
                server = start(name, argvs[name], ports[name], environs[name], tmp, cwd=tmp)
                watch: dict[str, Callable[[], Sequence[int]]] = {
                    "server": functools.partial(tree, server.pid)
                }
                if name == "seed" and redis_pid is not None:
                    watch["redis"] = fixed([redis_pid])
                targets[name] = Target(server, headers[name], watch)
            wait_ready([t.server for t in targets.values()])
            for name, target in targets.items():
                expect(target.server, target.headers, 200)
                status, _ = get(target.server.port, PATH, {})
                if status not in (401, 403):
                    raise RuntimeError(f"{name} answered {status} to a request without a key")
                answered += name in KEYSTEAD
            luas = {
                name: header_lua(tmp / f"{name}.lua", target.headers)
                for name, target in targets.items()
            }
            for name, target in targets.items():  # warm up: caches, workers, connections
                run = wrk(target.server.url(), luas[name], warmup, args.connections, args.threads)
                answered += run.requests if name in KEYSTEAD else 0
            for _ in range(rounds):
                for name, target in targets.items():
                    run = wrk(
                        target.server.url(),
                        luas[name],
                        seconds,
                        args.connections,
                        args.threads,
                        core=None,
                        watch=target.watch,
                    )
                    results[name].append(run)
                    answered += run.requests if name in KEYSTEAD else 0
            for name, target in targets.items():
                expect(target.server, target.headers, 200)
                answered += name in KEYSTEAD
        finally:
            for target in targets.values():
                stop(target.server)
        written = rows_written(tmp / "keystead.db")

    report(args, results, stacks, seconds, rounds, written, answered, redis_pid is not None)
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    write_json(
        args.json,
        {
            "results": {k: [asdict(r) for r in v] for k, v in results.items()},
            "stacks": stacks,
            "usage_rows": written,
            "answered_keystead": answered,
        },
    )
    if any(r.non_2xx for runs in results.values() for r in runs):
        sys.exit("some answers were not 200: see the non-2xx column")


def report(
    args: argparse.Namespace,
    results: dict[str, list[Run]],
    stacks: dict[str, dict[str, str]],
    seconds: int,
    rounds: int,
    written: int,
    answered: int,
    with_redis: bool,
) -> None:
    print_table(
        "peers_http: GET /api/data, 2 workers per server, the same 2 cores for everything",
        [
            ("run", ""),
            *machine_rows(),
            ("load", f"wrk {args.threads} threads, {args.connections} connections, not pinned"),
            ("runs", f"{rounds} x {seconds} s per server, alternating; median run shown"),
            ("mode", "quick" if args.quick else "full"),
            *(
                (LABELS[name][:3], ", ".join(f"{k} {v}" for k, v in stacks[name].items()))
                for name in LABELS
            ),
            ("python", f"{sys.version.split()[0]} for all (.venv's base interpreter)"),
            ("project", str(ROOT)),
        ],
        right=False,
    )
    rps = {name: median([r.rps for r in runs]) for name, runs in results.items()}
    cpu = {
        name: median([r.cpu_per_request("server") + r.cpu_per_request("redis") for r in runs])
        for name, runs in results.items()
    }
    rows: list[tuple[str, ...]] = [
        ("server (2 workers)", "req/s", "all runs", "p50", "p99", "CPU/req", "non-2xx")
    ]
    for name, label in LABELS.items():
        runs = results[name]
        cpu_cell = fmt_us(cpu[name])
        if name == "seed" and with_redis:
            redis_share = median([r.cpu_per_request("redis") for r in runs])
            cpu_cell += f" (redis {fmt_us(redis_share)})"
        rows.append(
            (
                label,
                f"{rps[name]:,.0f}",
                " ".join(f"{r.rps:,.0f}" for r in runs),
                f"{median([r.p50_ms for r in runs]):.2f} ms",
                f"{median([r.p99_ms for r in runs]):.2f} ms",
                cpu_cell,
                errors_of(runs),
            )
        )
    redis_note = " + the Redis server for (a)" if with_redis else " (Redis not counted)"
    print_table(f"results (CPU/req: the server's process tree{redis_note})", rows)
    ratio_rows: list[tuple[str, ...]] = [
        ("keystead over peer", "req/s", "p99 (peer / keystead)", "CPU/req (peer / keystead)")
    ]
    for ours in KEYSTEAD:
        for peer in PEERS:
            p99_peer = median([r.p99_ms for r in results[peer]])
            p99_ours = median([r.p99_ms for r in results[ours]])
            ratio_rows.append(
                (
                    f"{LABELS[ours][:3]} over {LABELS[peer][:3]}",
                    f"{rps[ours] / rps[peer]:.2f}x",
                    f"{p99_peer / p99_ours:.2f}x",
                    f"{cpu[peer] / cpu[ours]:.2f}x",
                )
            )
    print_table("Keystead's ratios (above 1: Keystead ahead)", ratio_rows)
    status = "all recorded" if written >= answered else f"{answered - written:,} MISSING"
    print(
        f"\nKeystead usage rows afterwards: {written:,} for {answered:,} requests (c) and (d) "
        f"answered (wrk's count): {status}"
    )


if __name__ == "__main__":
    main()
