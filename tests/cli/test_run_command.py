"""``keystead run`` as a real process, on the local store and against a real
``keystead serve`` (the ``ready`` fixture): the child's environment, masking of
its output, exit statuses, forwarded signals, env files with references, and
``--watch`` restarting the child when a secret is written."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from ._secrets_support import (
    STRIPE,
    WEBHOOK,
    audit,
    fingerprint,
    grant,
    put,
    python,
    read_line,
    run,
    start,
    wait_for,
)
from ._support import Cli

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and exit statuses of POSIX")

NAPS = "for _ in range(600): time.sleep(0.1)"
"""A child that handles a signal sleeps in short naps: a signal that lands between
Python's check for signals and the start of one long ``time.sleep`` waits for the
whole sleep to end before its handler runs."""

SPLIT_WRITES = f"""
import os, sys, time
key = os.environ["STRIPE_KEY"]
for part in (key[:3], key[3:10], key[10:]):
    sys.stdout.write(part); sys.stdout.flush(); time.sleep(0.02)
sys.stdout.write("\\n")
print("webhook", os.environ["WEBHOOK_SECRET"], file=sys.stderr)
assert key == {STRIPE!r} and os.environ["WEBHOOK_SECRET"] == {WEBHOOK!r}
"""


def test_a_path_puts_every_field_in_the_environment_masked_in_the_output(ready: Cli) -> None:
    put("payments", {"stripe_key": STRIPE, "webhook-secret": WEBHOOK})

    done = run("--path", "secret/payments", "--", *python(SPLIT_WRITES))

    assert done.returncode == 0, done.stderr
    assert done.stdout == "*****\n"
    assert done.stderr == "webhook *****\n"


def test_the_audit_log_says_keystead_run_read_the_secret(ready: Cli) -> None:
    put("payments", {"stripe_key": STRIPE})
    assert run("-p", "secret/payments", "--", "true").returncode == 0

    entries = audit("secret.read")
    assert [e["target_id"] for e in entries] == ["secret/payments"]
    assert entries[0]["changes"]["after"] == {"version": 1}
    if os.environ.get("KEYSTEAD_URL"):  # the local operator's requests carry no origin
        assert entries[0]["user_agent"].startswith("keystead-run/")


def test_no_masking_leaves_the_streams_alone(ready: Cli) -> None:
    put("payments", {"stripe_key": STRIPE, "webhook-secret": WEBHOOK})

    done = run("--no-masking", "--path", "secret/payments", "--", *python(SPLIT_WRITES))

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{STRIPE}\n"
    assert done.stderr == f"webhook {WEBHOOK}\n"


def test_an_env_file_resolves_references_and_passes_plain_values(
    ready: Cli, tmp_path: Path
) -> None:
    put("payments", {"stripe_key": STRIPE})
    put("db/main", {"password": "correct-horse-battery"}, mount="secret")
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# committed: no secret here\n"
        "STRIPE=keystead://secret/payments#stripe_key\n"
        'DB_PASSWORD="keystead://secret/db/main#password"\n'
        "LOG_LEVEL=debug\n"
    )
    code = (
        "import os\n"
        f"assert os.environ['STRIPE'] == {STRIPE!r}\n"
        "assert os.environ['DB_PASSWORD'] == 'correct-horse-battery'\n"
        "print(os.environ['LOG_LEVEL'], os.environ['DB_PASSWORD'])\n"
    )
    done = run(
        "--env-file", str(env_file), "--map", "KEY2=secret/payments#stripe_key", "--", *python(code)
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "debug *****\n"


@pytest.mark.parametrize("status", [0, 1, 42, 255])
def test_the_exit_status_passes_through(ready: Cli, status: int) -> None:
    put("payments", {"stripe_key": STRIPE})
    done = run("-p", "secret/payments", "--", *python(f"raise SystemExit({status})"))
    assert done.returncode == status


def test_a_death_by_signal_is_128_plus_n(ready_local: Cli) -> None:
    put("payments", {"stripe_key": STRIPE})
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    done = run("-p", "secret/payments", "--", *python(code))
    assert done.returncode == 128 + signal.SIGKILL


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_reach_the_child(ready_local: Cli, tmp_path: Path, signum: int) -> None:
    put("payments", {"stripe_key": STRIPE})
    marker = tmp_path / "up"
    code = (
        "import pathlib, signal, sys, time\n"
        "def handle(n, _f):\n"
        "    print('got', n, flush=True); sys.exit(3)\n"
        f"signal.signal({int(signum)}, handle)\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        f"{NAPS}\n"
    )
    process = start("-p", "secret/payments", "--", *python(code))
    wait_for(marker, process)

    process.send_signal(signum)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 3, err
    assert out == f"got {int(signum)}\n"


def test_an_unhandled_sigterm_ends_the_child_and_run_reports_it(
    ready_local: Cli, tmp_path: Path
) -> None:
    put("payments", {"stripe_key": STRIPE})
    marker = tmp_path / "up"
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).write_text('x'); time.sleep(60)"
    process = start("--no-masking", "-p", "secret/payments", "--", *python(code))
    wait_for(marker, process)
    process.terminate()
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM


def test_a_missing_command_is_127_and_a_missing_secret_starts_nothing(
    ready: Cli, tmp_path: Path
) -> None:
    put("payments", {"stripe_key": STRIPE})
    done = run("-p", "secret/payments", "--", "keystead-no-such-command")
    assert done.returncode == 127
    assert "command not found: keystead-no-such-command" in done.stderr

    marker = tmp_path / "started"
    started = python(f"import pathlib; pathlib.Path({str(marker)!r}).write_text('x')")
    missing = run("-p", "secret/nothing-here", "--", *started)
    assert missing.returncode == 1
    assert "404" in missing.stderr
    no_field = run("--map", "X=secret/payments#nope", "--", *started)
    assert no_field.returncode == 1
    assert "no field 'nope'" in no_field.stderr
    assert not marker.exists()
    assert STRIPE not in missing.stderr + no_field.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "give the command after --"),
        (["--", "true"], "nothing to put in the environment"),
    ],
)
def test_usage_errors(ready_local: Cli, args: list[str], problem: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert problem in done.stderr


def test_collisions_are_refused(ready_local: Cli) -> None:
    put("payments", {"stripe_key": STRIPE})
    done = run(
        "-p", "secret/payments", "--map", "STRIPE_KEY=secret/payments#stripe_key", "--", "true"
    )
    assert done.returncode == 1
    assert "STRIPE_KEY is given twice" in done.stderr


WATCHED = """
import hashlib, os, signal, sys, time
signal.signal(signal.SIGTERM, lambda n, f: (print("stopping", flush=True), sys.exit(0)))
print(hashlib.sha256(os.environ["STRIPE_KEY"].encode()).hexdigest()[:12], flush=True)
for _ in range(1200):  # naps, as NAPS says why
    time.sleep(0.1)
"""


def watch_restarts_on_a_write(env: dict[str, str] | None = None) -> str:
    """Start ``run --watch``, write a new value, expect the child restarted with
    it; ``keystead run``'s stderr."""
    put("payments", {"stripe_key": "sk_first_value_1"})
    process = start("--watch", "-p", "secret/payments", "--", *python(WATCHED), env=env)
    try:
        assert process.stdout is not None
        assert read_line(process.stdout) == fingerprint("sk_first_value_1")
        put("payments", {"stripe_key": "sk_second_value_2"})
        assert read_line(process.stdout) == "stopping"
        assert read_line(process.stdout) == fingerprint("sk_second_value_2")
    finally:
        process.terminate()
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # not left running into the next tests
            process.communicate()
            raise
    assert process.returncode == 0  # the child handled SIGTERM
    assert "a secret changed: restarting the command" in err
    return err


def test_watch_restarts_the_child_when_the_secret_is_written(ready: Cli) -> None:
    err = watch_restarts_on_a_write()
    assert "refused its change stream" not in err


def test_watch_with_a_token_that_only_reads_the_secret_listens_to_the_stream(
    ready: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine token holding only ``secrets.read`` on the path may stream: it hears
    of that secret's changes (never of keys), so --watch needs no polling."""
    if not os.environ.get("KEYSTEAD_URL"):
        pytest.skip("a token is a server's matter: the local store always polls")
    put("payments", {"stripe_key": "x" * 8})
    token = grant("secrets.read:secret/payments")
    env = {**os.environ, "KEYSTEAD_ROOT_KEY": token}
    err = watch_restarts_on_a_write(env)
    assert "refused its change stream" not in err


def test_nothing_is_written_to_disk(ready_local: Cli, tmp_path: Path) -> None:
    put("payments", {"stripe_key": STRIPE})
    done = run("-p", "secret/payments", "--", *python("print('ok')"))
    assert done.returncode == 0
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert files  # the store, its secret and master key
    for path in files:  # the SQLite files hold the sealed value only
        assert STRIPE.encode() not in path.read_bytes(), path


def test_on_every_backend_of_the_local_store(cli_any: Cli) -> None:
    """The local store on SQLite and PostgreSQL: read, masked, and --watch polling."""
    cli_any.json("init")
    put("payments", {"stripe_key": STRIPE, "webhook-secret": WEBHOOK})
    done = run("--path", "secret/payments", "--", *python(SPLIT_WRITES))
    assert (done.returncode, done.stdout) == (0, "*****\n"), done.stderr
    watch_restarts_on_a_write()
