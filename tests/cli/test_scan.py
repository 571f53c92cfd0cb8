"""``keystead scan`` as a user runs it: files, git history, the index, stdin;
the table, JSON, baselines, rules files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scan.gitrepo import Repo

from ._scan_support import broken_key, keystead_key
from ._support import Cli


@pytest.fixture
def work(cli: Cli, tmp_path: Path) -> Path:
    """The working directory of the ``cli`` fixture (tmp_path), with a project in it."""
    project = tmp_path / "project"
    project.mkdir()
    return project


def _json(cli: Cli, *args: str, code: int = 1, input: str | None = None) -> Any:
    result = cli.run("scan", *args, "--json", input=input)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_a_keystead_key_is_found_redacted_and_the_exit_code_says_so(cli: Cli, work: Path) -> None:
    key = keystead_key()
    (work / "settings.py").write_text(f'API_KEY = "{key}"\n', encoding="utf-8")
    (work / "decoy.py").write_text(f'OLD = "{broken_key()}"\n', encoding="utf-8")

    result = cli.run("scan", "project")

    assert result.exit_code == 1
    assert key not in result.output
    assert "project/settings.py:1" in result.stdout
    assert f"acme_…{key[-4:]}" in result.stdout
    assert "keystead-key" in result.stdout
    assert "decoy.py" not in result.stdout  # a broken checksum is never a finding
    assert "1 finding; 2 files scanned" in result.stdout


def test_show_secrets_prints_the_secret(cli: Cli, work: Path) -> None:
    key = keystead_key()
    (work / "a.txt").write_text(key + "\n", encoding="utf-8")

    assert key in cli.run("scan", "project", "--show-secrets").stdout
    (finding,) = _json(cli, "project", "--show-secrets")["findings"]
    assert finding["secret"] == key
    assert finding["redacted"] is False


def test_a_clean_tree_exits_0(cli: Cli, work: Path) -> None:
    (work / "main.py").write_text("print('hello')\n", encoding="utf-8")
    result = cli.ok("scan", "project")
    assert "0 findings; 1 file scanned" in result.stdout
    assert _json(cli, "project", code=0) == {
        "findings": [],
        "summary": {"findings": 0, "files": 1, "bytes": 15, "skipped": {}, "baselined": 0},
    }


def test_json_document_and_output_file(cli: Cli, work: Path, tmp_path: Path) -> None:
    key = keystead_key("shop_test")
    (work / "app.js").write_text(f"const a = 1;\nconst k = '{key}';\n", encoding="utf-8")

    document = _json(cli, "project")
    (finding,) = document["findings"]
    assert finding["rule_id"] == "keystead-key"
    assert finding["kind"] == "keystead"
    assert (finding["path"], finding["line"], finding["column"]) == ("project/app.js", 2, 12)
    assert finding["end_column"] == 12 + len(key)
    assert finding["secret"] == f"shop_test_…{key[-4:]}"
    assert finding["validation"] == "checksum"
    assert len(finding["fingerprint"]) == 64
    assert document["summary"]["findings"] == 1
    assert cli.run("scan", "project", "--format", "json").stdout == cli.outputs[-2]

    report = tmp_path / "out.json"
    result = cli.run("scan", "project", "--format", "json", "--output", str(report))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(report.read_text(encoding="utf-8")) == document
    assert key not in report.read_text(encoding="utf-8")


def test_allow_comment_and_exclude_suppress(cli: Cli, work: Path) -> None:
    (work / "fixture.py").write_text(
        f'TEST_KEY = "{keystead_key()}"  # keystead:allow\n', encoding="utf-8"
    )
    (work / "generated").mkdir()
    (work / "generated" / "dump.txt").write_text(keystead_key() + "\n", encoding="utf-8")

    assert len(_json(cli, "project")["findings"]) == 1
    document = _json(cli, "project", "--exclude", "generated", code=0)
    assert document["summary"]["skipped"] == {"excluded": 1}


def test_stdin(cli: Cli) -> None:
    key = keystead_key()
    (finding,) = _json(cli, "--stdin", input=f"curl -H 'Authorization: {key}'\n")["findings"]
    assert finding["path"] == "stdin"
    assert finding["line"] == 1


def test_baseline_accepts_what_was_reviewed_and_only_that(cli: Cli, work: Path) -> None:
    old = keystead_key()
    (work / "old.py").write_text(f"K = '{old}'\n", encoding="utf-8")
    baseline = work.parent / "baseline.json"

    written = cli.run("scan", "project", "--write-baseline", str(baseline))
    assert written.exit_code == 0
    assert old not in baseline.read_text(encoding="utf-8")
    assert _json(cli, "project", "--baseline", str(baseline), code=0)["summary"]["baselined"] == 1

    (work / "new.py").write_text(f"K = '{keystead_key()}'\n", encoding="utf-8")
    (finding,) = _json(cli, "project", "--baseline", str(baseline))["findings"]
    assert finding["path"] == "project/new.py"


def test_an_extra_rules_file_adds_a_rule(cli: Cli, work: Path) -> None:
    rules = work.parent / "acme.toml"
    rules.write_text(
        "[[rules]]\n"
        'id = "acme-token"\n'
        'description = "ACME internal token"\n'
        "regex = '''acme_[0-9a-f]{32}'''\n"
        'keywords = ["acme_"]\n'
        'kind = "generic"\n',
        encoding="utf-8",
    )
    (work / "conf.ini").write_text("token = acme_" + "0123456789abcdef" * 2 + "\n", "utf-8")

    assert _json(cli, "project", code=0)["findings"] == []
    (finding,) = _json(cli, "project", "--rules", str(rules))["findings"]
    assert finding["rule_id"] == "acme-token"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing-dir"], "missing-dir: no such file or directory"),
        (["--rules", "nowhere.toml"], "--rules nowhere.toml: no such file"),
        (["--rules", "bad.toml"], "bad.toml"),
        (["--baseline", "nowhere.json"], "no such file"),
        (["--baseline", "bad.toml"], "baseline bad.toml"),
        (["--git"], "not inside a git repository"),
        (["--staged"], "not inside a git repository"),
        (["--format", "xml"], "--format is one of table, json, sarif"),
        (["--git", "--staged"], "choose one of --git and --staged"),
        (["--since", "main"], "--since and --branch go with --git"),
        (["--exclude", "[z-a]"], "not a valid glob"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "bad.toml").write_text("[[rules]]\nid = 'x'\n", encoding="utf-8")
    result = cli.fails(2, "scan", *args)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_git_history_reports_the_commit_that_introduced_a_deleted_key(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path / "repo")
    key = keystead_key()
    repo.write("README.md", "hello\n")
    repo.commit("readme", date="2026-01-01T09:00:00+00:00")
    repo.write("config/prod.py", f"# settings\nKEY = '{key}'\n")
    leaked = repo.commit("add prod settings", date="2026-02-03T04:05:06+00:00")
    repo.write("copy.py", f"KEY = '{key}'\n")  # another blob with the same key
    repo.commit("copy it")
    repo.git("rm", "-q", "config/prod.py", "copy.py")
    repo.commit("remove the key")
    monkeypatch.chdir(repo.root)

    assert _json(cli, code=0)["findings"] == []  # the work tree is clean now
    document = _json(cli, "--git")

    first = document["findings"][0]
    assert first["path"] == "config/prod.py"
    assert first["line"] == 2
    assert first["commit"] == {
        "sha": leaked,
        "author": "Ada Lovelace",
        "email": "ada@example.com",
        "date": "2026-02-03T04:05:06+00:00",
    }
    assert [f["path"] for f in document["findings"]] == ["config/prod.py", "copy.py"]
    assert document["summary"]["commits"] == 4
    assert document["summary"]["blobs"] == 3
    table = cli.run("scan", "--git").stdout
    assert f"{leaked[:10]} Ada Lovelace 2026-02-03" in table
    assert _json(cli, "--git", "--since", leaked, code=1)["summary"]["commits"] == 2
    assert _json(cli, "--git", "--since", "HEAD~1", code=0)["findings"] == []
    mirror = tmp_path / "mirror.git"
    repo.git("clone", "-q", "--mirror", str(repo.root), str(mirror))
    monkeypatch.chdir(mirror)  # a bare repository: history, no work tree
    first_in_mirror = _json(cli, "--git")["findings"][0]
    assert (first_in_mirror["path"], first_in_mirror["commit"]["sha"]) == ("config/prod.py", leaked)


def test_git_history_reports_a_kept_secret_once_at_its_introducing_commit(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path / "repo")
    key = keystead_key()
    repo.write("settings.py", f"KEY = '{key}'\n")
    added = repo.commit("add settings", date="2026-03-01T10:00:00+00:00")
    repo.write("settings.py", f"DEBUG = False\nKEY = '{key}'\n")  # a new blob, key kept
    repo.commit("debug off", date="2026-03-02T10:00:00+00:00")
    repo.write("settings.py", f"DEBUG = False\nKEY = '{key}'\nTIMEOUT = 5\n")
    repo.commit("timeout", date="2026-03-03T10:00:00+00:00")
    monkeypatch.chdir(repo.root)

    document = _json(cli, "--git")

    (finding,) = document["findings"]
    assert (finding["path"], finding["line"]) == ("settings.py", 1)  # line in that version
    assert finding["commit"]["sha"] == added
    assert finding["commit"]["date"] == "2026-03-01T10:00:00+00:00"
    assert document["summary"]["blobs"] == 3  # every version is still read


def test_staged_scans_the_index_not_the_work_tree(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write("a.py", "x = 1\n")
    repo.commit("a")
    key = keystead_key()
    repo.write("b.py", f"KEY = '{key}'\n")
    monkeypatch.chdir(repo.root)

    assert _json(cli, "--staged", code=0)["findings"] == []  # not added yet
    repo.git("add", "b.py")
    (finding,) = _json(cli, "--staged")["findings"]
    assert (finding["path"], finding["line"]) == ("b.py", 1)
    repo.write("b.py", "KEY = 'gone from the work tree'\n")
    assert len(_json(cli, "--staged")["findings"]) == 1  # the index still has it


def test_tracked_secret_files_and_fix_gitignore(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write(".env", "DEBUG=1\n")
    repo.write(".env.example", "DEBUG=0\n")
    repo.write("deploy/server.pem", "not really a key\n")
    repo.write("untracked.key", "x\n")
    repo.git("add", ".env", ".env.example", "deploy/server.pem")
    monkeypatch.chdir(repo.root)

    document = _json(cli)
    assert [(f["rule_id"], f["path"]) for f in document["findings"]] == [
        ("tracked-env-file", ".env"),
        ("tracked-private-key", "deploy/server.pem"),
    ]
    result = cli.run("scan", "--fix-gitignore")
    assert result.exit_code == 1
    assert "git rm --cached .env deploy/server.pem" in result.stderr
    gitignore = (repo.root / ".gitignore").read_text(encoding="utf-8")
    assert ".env" in gitignore.splitlines() and "*.pem" in gitignore.splitlines()
    cli.run("scan", "--fix-gitignore")
    assert (repo.root / ".gitignore").read_text(encoding="utf-8") == gitignore
    repo.git("rm", "-q", "--cached", ".env", "deploy/server.pem")
    assert _json(cli, code=0)["findings"] == []
