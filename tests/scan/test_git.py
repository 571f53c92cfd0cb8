"""Reading git for the scanner: each blob once, at the commit that introduced it."""

from __future__ import annotations

from pathlib import Path

import pytest

from keystead.scan import git

from .gitrepo import Repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    return Repo(tmp_path / "repo")


def _contents(repo: Repo, refs: list[git.BlobRef]) -> dict[str, bytes | None]:
    return {ref.path: data for ref, data in git.read_blobs(repo.root, refs, max_bytes=1 << 20)}


def test_each_blob_is_listed_once_at_the_commit_that_introduced_it(repo: Repo) -> None:
    repo.write("a.txt", "alpha\n")
    first = repo.commit("one", date="2026-01-01T10:00:00+00:00")
    repo.write("copy/a.txt", "alpha\n")  # the same blob at a second path
    repo.write("b.txt", "beta\n")
    second = repo.commit("two", date="2026-01-02T10:00:00+00:00")
    repo.write("a.txt", "alpha\nmore\n")
    third = repo.commit("three", date="2026-01-03T10:00:00+00:00")

    walked = git.history(repo.root)

    assert walked.commits == 3
    by_path = {ref.path: ref for ref in walked.blobs}
    assert len(walked.blobs) == 3  # alpha, beta, alpha+more: the copy is the same blob
    assert "copy/a.txt" not in by_path
    assert set(walked.paths) == {"a.txt", "copy/a.txt", "b.txt"}
    copied = walked.paths["copy/a.txt"]
    assert copied is not None and copied.sha == second  # the path's first commit
    shas = {ref.commit.sha for ref in walked.blobs if ref.commit is not None}
    assert shas == {first, second, third}
    beta = next(ref for ref in walked.blobs if ref.path == "b.txt")
    assert beta.commit is not None
    assert beta.commit.sha == second
    assert beta.commit.author == "Ada Lovelace"
    assert beta.commit.email == "ada@example.com"
    assert beta.commit.date == "2026-01-02T10:00:00+00:00"
    contents = [data for _, data in git.read_blobs(repo.root, walked.blobs, max_bytes=1 << 20)]
    assert sorted(c or b"" for c in contents) == [b"alpha\n", b"alpha\nmore\n", b"beta\n"]


def test_a_blob_deleted_later_is_still_found(repo: Repo) -> None:
    repo.write("leak.txt", "gone soon\n")
    introduced = repo.commit("add")
    repo.git("rm", "-q", "leak.txt")
    repo.commit("remove")

    walked = git.history(repo.root)

    assert [(r.path, r.commit.sha if r.commit else None) for r in walked.blobs] == [
        ("leak.txt", introduced)
    ]


def test_since_and_branch_narrow_the_walk(repo: Repo) -> None:
    repo.write("old.txt", "old\n")
    base = repo.commit("old")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feature.txt", "feature\n")
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("new.txt", "new\n")
    repo.commit("new")

    assert {r.path for r in git.history(repo.root).blobs} == {"old.txt", "feature.txt", "new.txt"}
    assert {r.path for r in git.history(repo.root, since=base).blobs} == {
        "feature.txt",
        "new.txt",
    }
    assert {r.path for r in git.history(repo.root, branches=["main"]).blobs} == {
        "old.txt",
        "new.txt",
    }
    assert {r.path for r in git.history(repo.root, branches=["feature"], since="main").blobs} == {
        "feature.txt"
    }


def test_a_merge_attributes_branch_blobs_to_the_branch_commit(repo: Repo) -> None:
    repo.write("base.txt", "base\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("topic.txt", "topic\n")
    topic = repo.commit("topic", date="2026-01-05T00:00:00+00:00")
    repo.git("checkout", "-q", "main")
    repo.write("main.txt", "main\n")
    repo.commit("main", date="2026-01-06T00:00:00+00:00")
    repo.git("merge", "-q", "--no-edit", "topic")

    walked = git.history(repo.root, branches=["main"])

    found = {r.path: r.commit.sha if r.commit else None for r in walked.blobs}
    assert found["topic.txt"] == topic


def test_odd_path_names_survive(repo: Repo) -> None:
    repo.write("dir with space/naïve\tname.txt", "x\n")
    repo.commit("odd")

    assert [r.path for r in git.history(repo.root).blobs] == ["dir with space/naïve\tname.txt"]


def test_staged_lists_what_the_next_commit_adds(repo: Repo) -> None:
    repo.write("first.txt", "first\n")
    repo.git("add", "first.txt")
    assert [r.path for r in git.staged(repo.root)] == ["first.txt"]  # no HEAD yet
    repo.commit("first")
    repo.write("second.txt", "second\n")
    repo.write("unstaged.txt", "not added\n")
    repo.git("add", "second.txt")
    repo.write("first.txt", "changed in the work tree only\n")

    staged = git.staged(repo.root)

    assert [r.path for r in staged] == ["second.txt"]
    assert _contents(repo, staged) == {"second.txt": b"second\n"}
    repo.git("rm", "-q", "--cached", "first.txt")
    assert [r.path for r in git.staged(repo.root)] == ["second.txt"]  # a deletion adds nothing


def test_a_blob_over_max_bytes_is_read_past(repo: Repo) -> None:
    repo.write("big.txt", "x" * 5000)
    repo.write("small.txt", "small\n")
    repo.commit("sizes")

    walked = git.history(repo.root)
    got = {r.path: d for r, d in git.read_blobs(repo.root, walked.blobs, max_bytes=100)}

    assert got == {"big.txt": None, "small.txt": b"small\n"}


def test_errors_name_the_problem(repo: Repo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    with pytest.raises(git.GitError, match="not inside a git repository"):
        git.toplevel(elsewhere)
    repo.write("a.txt", "a\n")
    repo.commit("a")
    with pytest.raises(git.GitError, match="unknown revision: nope"):
        git.history(repo.root, since="nope")
    with pytest.raises(git.GitError, match="not a revision"):
        git.history(repo.root, branches=["--output=/tmp/x"])
    assert git.toplevel(repo.root / "a.txt") == repo.root.resolve()
