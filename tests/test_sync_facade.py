from pathlib import Path

import keystead
from keystead import SyncKeystead, VerifyContext
from keystead.config import Settings


def test_sync_facade_runs_the_whole_flow(tmp_path: Path, server_secret: str) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'sync.db'}",
        secret=server_secret,
    )
    with SyncKeystead.open(settings=settings) as ks:
        admin = ks.workspaces.local_operator()
        api = ks.apis.create(admin, name="scripts")
        created = ks.keys.create(admin, api_id=api.id, permissions=["a.read"])
        assert ks.verify(created.plaintext, VerifyContext(permissions="a.read")).valid
        ks.keys.revoke(admin, created.key.id)
        assert ks.verify(created.plaintext).code is keystead.Code.REVOKED


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = "import keystead, sys; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sync_facade_rotates_and_reports_a_compromise(tmp_path: Path, server_secret: str) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'sync.db'}",
        secret=server_secret,
    )
    with SyncKeystead.open(settings=settings) as ks:
        admin = ks.workspaces.local_operator()
        api = ks.apis.create(admin, name="rotating")
        old = ks.keys.create(admin, api_id=api.id)
        rotation = ks.rotation.rotate(admin, old.key.id, grace_period_s=0)
        assert ks.verify(old.plaintext).code is keystead.Code.EXPIRED
        assert ks.verify(rotation.new.plaintext).valid
        assert ks.scheduler.due(admin) == []
        report = ks.incidents.compromise(admin, rotation.new.key.id, reason="leaked")
        assert ks.verify(rotation.new.plaintext).code is keystead.Code.REVOKED
        assert ks.incidents.get(admin, report.incident.id).key_id == rotation.new.key.id


def test_sync_facade_spends_limits_and_gives_leases_back(
    tmp_path: Path, server_secret: str
) -> None:
    from keystead.limits import RateLimit

    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'sync.db'}",
        secret=server_secret,
        limits_url="memory://",
    )
    with SyncKeystead.open(settings=settings) as ks:
        admin = ks.workspaces.local_operator()
        api = ks.apis.create(admin, name="limited")
        created = ks.keys.create(admin, api_id=api.id, concurrency={"limit": 1, "lease_s": 30})
        held = ks.verify(created.plaintext)
        assert held.valid and held.leases
        assert ks.verify(created.plaintext).code is keystead.Code.RATE_LIMITED
        ks.release(held.leases)
        again = ks.verify(created.plaintext)
        assert again.valid
        ks.release(again.leases)
        burst = (RateLimit(name="call", limit=2, duration_s=60),)
        answers = []
        for _ in range(3):  # one at a time: each gives its concurrency slot back
            answers.append(ks.verify(created.plaintext, ratelimits=burst, cost=1))
            ks.release(answers[-1].leases)
        assert [a.valid for a in answers] == [True, True, False]
        assert ks.loop.is_running()  # the service's loop, for work not waited on
