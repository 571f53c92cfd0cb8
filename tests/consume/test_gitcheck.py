"""``secrets export --output`` warns about files git would carry: real git repositories."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from keystead.consume.gitcheck import git_exposure

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    (root / ".gitignore").write_text(".env.local\nsecrets/\n")
    (root / ".env").write_text("A=1\n")
    git(root, "add", ".env", ".gitignore")
    git(root, "commit", "-qm", "init")
    return root


def test_a_tracked_file(repo: Path) -> None:
    assert git_exposure(repo / ".env") == "tracked"


def test_a_file_in_the_work_tree_that_is_not_ignored(repo: Path) -> None:
    (repo / "sub").mkdir()
    assert git_exposure(repo / "out.env") == "not ignored"
    assert git_exposure(repo / "sub" / "out.env") == "not ignored"


def test_ignored_files_and_files_outside_a_repository(repo: Path, tmp_path: Path) -> None:
    assert git_exposure(repo / ".env.local") is None
    (repo / "secrets").mkdir()
    assert git_exposure(repo / "secrets" / "ci.env") is None
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert git_exposure(outside / "ci.env") is None
