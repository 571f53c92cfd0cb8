"""``keystead hooks install``: a plain git pre-commit hook, run by the real git."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from keystead.cli import hooks
from scan.gitrepo import Repo, git_env

from ._scan_support import keystead_key
from ._support import Cli


@pytest.fixture
def repo(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    made = Repo(tmp_path / "repo")
    made.write("README.md", "hello\n")
    made.commit("start")
    monkeypatch.chdir(made.root)
    return made


def _commit(repo: Repo, message: str) -> subprocess.CompletedProcess[str]:
    """``git commit`` as a user runs it: the hook runs, its exit code decides."""
    return subprocess.run(
        ["git", "commit", "-q", "-m", message],
        cwd=repo.root,
        env=git_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_hook_blocks_a_key_and_lets_clean_and_allowed_commits_through(
    cli: Cli, repo: Repo
) -> None:
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    data = cli.json("hooks", "install")
    assert data == {"hook": str(hook), "installed": True, "backup": None}
    assert hook.stat().st_mode & stat.S_IXUSR

    key = keystead_key()
    repo.write("settings.py", f"API_KEY = '{key}'\n")
    repo.git("add", "settings.py")
    blocked = _commit(repo, "add settings")
    assert blocked.returncode == 1
    shown = blocked.stdout + blocked.stderr  # git passes a hook's stdout to stderr
    assert "settings.py:1" in shown
    assert "keystead-key" in shown
    assert "commit blocked" in shown
    assert key not in shown
    assert repo.git("rev-list", "--count", "HEAD") == "1"  # nothing was committed

    repo.write("settings.py", "API_KEY = os.environ['API_KEY']\n")
    repo.git("add", "settings.py")
    assert _commit(repo, "read it from the environment").returncode == 0

    repo.write("tests.py", f"FIXTURE = '{key}'  # keystead:allow\n")
    repo.git("add", "tests.py")
    assert _commit(repo, "a test fixture").returncode == 0
    assert repo.git("rev-list", "--count", "HEAD") == "3"


def test_a_foreign_hook_is_kept_unless_forced_and_put_back_on_uninstall(
    cli: Cli, repo: Repo
) -> None:
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n", encoding="utf-8")

    refused = cli.fails(1, "hooks", "install")
    assert "not written by Keystead" in refused.stderr
    assert hook.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"

    forced = cli.json("hooks", "install", "--force")
    backup = hook.with_name(hooks.BACKUP)
    assert forced["backup"] == str(backup)
    assert backup.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    assert hooks.ours(hook)
    cli.ok("hooks", "install")  # reinstalling over its own hook needs no --force

    assert cli.json("hooks", "uninstall") == {"hook": str(hook), "removed": True, "restored": True}
    assert hook.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    assert not backup.exists()
    assert "not written by Keystead" in cli.fails(1, "hooks", "uninstall").stderr


def test_core_hooks_path_is_honoured(cli: Cli, repo: Repo) -> None:
    repo.git("config", "core.hooksPath", ".githooks")
    data = cli.json("hooks", "install")
    assert data["hook"] == str(repo.root / ".githooks" / "pre-commit")
    repo.write("leak.txt", keystead_key() + "\n")
    repo.git("add", "leak.txt")
    assert _commit(repo, "leak").returncode == 1


def test_outside_a_repository_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = cli.fails(2, "hooks", "install", "--repo", str(plain))
    assert "not inside a git repository" in result.stderr


def test_the_hook_falls_back_to_keystead_on_path(tmp_path: Path) -> None:
    """With the installing interpreter gone, the hook runs ``keystead`` from PATH."""
    script = tmp_path / "pre-commit"
    script.write_text(hooks.hook_script(str(tmp_path / "gone" / "python")), encoding="utf-8")
    script.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "keystead"
    fake.write_text('#!/bin/sh\necho "ran: $*"\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    ran = subprocess.run([str(script)], env=env, capture_output=True, text=True, check=False)
    assert ran.stdout.strip() == "ran: scan --staged"
    missing = subprocess.run(
        [str(script)],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert "keystead is not installed" in missing.stderr


def test_commit_all_is_checked_too(cli: Cli, repo: Repo) -> None:
    """``git commit -a`` builds a temporary index; the hook reads that one."""
    cli.ok("hooks", "install")
    repo.write("README.md", f"hello\ntoken: {keystead_key()}\n")
    done = subprocess.run(
        ["git", "commit", "-q", "-a", "-m", "edit"],
        cwd=repo.root,
        env=git_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "README.md:2" in done.stderr
    assert repo.git("rev-list", "--count", "HEAD") == "1"
