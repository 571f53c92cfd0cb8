"""The ``keystead-scan`` hook with the real pre-commit framework.

A consumer repository lists this checkout as a hook repository, the way users
list Keystead's: pre-commit clones it at a commit, builds a virtualenv and
pip-installs Keystead into it, then runs ``keystead scan --staged`` on every
commit. The hook repository is a clone of this checkout at HEAD, so the test
exercises what is committed (uncommitted edits are not part of it).
"""

from __future__ import annotations

import secrets
import shutil
import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scan.gitrepo import Repo, git_env

from ._scan_support import keystead_key

CHECKOUT = Path(__file__).resolve().parents[2]
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Consumer:
    repo: Repo
    env: dict[str, str]

    def commit(self, path: str, text: str) -> subprocess.CompletedProcess[str]:
        self.repo.write(path, text)
        self.repo.git("add", path)
        return subprocess.run(
            ["git", "commit", "-m", f"add {path}"],
            cwd=self.repo.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=INSTALL_TIMEOUT_S,
        )

    def head_count(self) -> int:
        return int(self.repo.git("rev-list", "--count", "HEAD"))


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consumer]:
    if shutil.which("git") is None:  # pragma: no cover - git is on every machine we test on
        pytest.skip("git is not installed")
    base = tmp_path_factory.mktemp("pre-commit")
    hook_repo = base / "keystead-hooks"
    clone = subprocess.run(
        ["git", "clone", "--quiet", str(CHECKOUT), str(hook_repo)],
        env=git_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert clone.returncode == 0, clone.stderr
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hook_repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    repo = Repo(base / "consumer")
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: keystead-scan\n",
    )
    repo.write("README.md", "A project that uses Keystead's pre-commit hook.\n")
    repo.commit("start")
    env = {**git_env(), "PRE_COMMIT_HOME": str(base / "cache"), "PRE_COMMIT_COLOR": "never"}
    env.pop("VIRTUAL_ENV", None)
    for step in (["install"], ["install-hooks"]):
        done = subprocess.run(
            [*PRE_COMMIT, *step],
            cwd=repo.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=INSTALL_TIMEOUT_S,
        )
        assert done.returncode == 0, f"pre-commit {step[0]}: {done.stdout}{done.stderr}"
    yield Consumer(repo, env)


def _aws_pair() -> tuple[str, str]:
    """An AWS access key id and secret key of the real shapes, random each run."""
    key_id = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    return key_id, secret


@pytest.mark.slow
def test_a_commit_adding_a_keystead_key_is_blocked_with_a_readable_message(
    consumer: Consumer,
) -> None:
    before = consumer.head_count()
    key = keystead_key("acme_live")

    done = consumer.commit("billing.py", f'STRIPE_PROXY_KEY = "{key}"\n')

    shown = done.stdout + done.stderr
    assert done.returncode != 0, shown
    assert "keystead scan" in shown  # pre-commit names the hook
    assert "Failed" in shown
    assert "billing.py:1" in shown
    assert "keystead-key" in shown
    assert "commit blocked" in shown
    assert key not in shown
    assert consumer.head_count() == before
    consumer.repo.git("reset", "-q", "HEAD", "billing.py")
    (consumer.repo.root / "billing.py").unlink()


@pytest.mark.slow
def test_a_commit_adding_an_aws_key_pair_is_blocked(consumer: Consumer) -> None:
    before = consumer.head_count()
    key_id, secret = _aws_pair()

    done = consumer.commit(
        "deploy/aws.ini",
        f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n",
    )

    shown = done.stdout + done.stderr
    assert done.returncode != 0, shown
    assert "deploy/aws.ini:2" in shown
    assert "aws" in shown.lower()
    assert key_id not in shown and secret not in shown
    assert consumer.head_count() == before
    consumer.repo.git("reset", "-q", "HEAD", "deploy/aws.ini")
    (consumer.repo.root / "deploy" / "aws.ini").unlink()


@pytest.mark.slow
def test_a_clean_commit_goes_through(consumer: Consumer) -> None:
    before = consumer.head_count()
    done = consumer.commit("app.py", "import os\nKEY = os.environ['API_KEY']\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout + done.stderr
    assert consumer.head_count() == before + 1


@pytest.mark.slow
def test_an_allowed_line_goes_through(consumer: Consumer) -> None:
    before = consumer.head_count()
    key = keystead_key("acme_test")
    done = consumer.commit("tests/fixtures.py", f'FAKE = "{key}"  # keystead:allow\n')
    assert done.returncode == 0, done.stdout + done.stderr
    assert consumer.head_count() == before + 1


def test_the_hook_manifest_is_what_pre_commit_reads() -> None:
    """The manifest parses with pre-commit's own loader, with the documented entry."""
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(CHECKOUT / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "keystead-scan"
    assert hook["entry"] == "keystead scan --staged"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
