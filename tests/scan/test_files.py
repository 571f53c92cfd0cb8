from __future__ import annotations

import os
from pathlib import Path

import pytest

from keystead.errors import ValidationError
from keystead.scan.files import (
    BINARY,
    DEFAULT_MAX_BYTES,
    EXCLUDED,
    SYMLINK,
    TOO_LARGE,
    VENDORED,
    FileEntry,
    is_binary,
    iter_files,
)


def _tree(root: Path) -> None:
    files = {
        "app/main.py": "print('hi')\n",
        "app/.env": "TOKEN=x\n",
        "app/static/app.min.js": "var a=1;\n",
        "app/notebook.ipynb": "{}\n",
        "docs/readme.md": "# docs\n",
        "node_modules/pkg/index.js": "module.exports = 1\n",
        ".git/config": "[core]\n",
        "src/vendor/lib.py": "x = 1\n",
        "deep/a/b/c/fixture.txt": "data\n",
        "deep/a/b/keep.txt": "data\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    (root / "app/logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64)
    (root / "app/big.log").write_bytes(b"line\n" * 400)


def _by_path(root: Path, entries: list[FileEntry]) -> dict[str, str | None]:
    return {entry.path.relative_to(root).as_posix(): entry.skipped for entry in entries}


def test_defaults_skip_binary_oversized_and_vendored_with_reasons(tmp_path: Path) -> None:
    _tree(tmp_path)
    entries = list(iter_files([tmp_path], max_bytes=1000))
    assert _by_path(tmp_path, entries) == {
        ".git": VENDORED,
        "app/.env": None,
        "app/big.log": TOO_LARGE,
        "app/logo.png": BINARY,
        "app/main.py": None,
        "app/notebook.ipynb": None,
        "app/static/app.min.js": None,
        "deep/a/b/c/fixture.txt": None,
        "deep/a/b/keep.txt": None,
        "docs/readme.md": None,
        "node_modules": VENDORED,
        "src/vendor": VENDORED,
    }
    sizes = {e.path.name: e.size for e in entries}
    assert sizes["main.py"] == len("print('hi')\n")
    assert sizes["big.log"] == 2000
    assert DEFAULT_MAX_BYTES == 10 * 1024 * 1024


def test_exclude_globs_match_names_anywhere_or_anchored_paths(tmp_path: Path) -> None:
    _tree(tmp_path)
    entries = list(iter_files([tmp_path], exclude=["*.min.js", "docs", "deep/**/c", "app/*.py"]))
    skipped = {k: v for k, v in _by_path(tmp_path, entries).items() if v == EXCLUDED}
    assert skipped == {
        "app/static/app.min.js": EXCLUDED,
        "docs": EXCLUDED,
        "deep/a/b/c": EXCLUDED,
        "app/main.py": EXCLUDED,
    }
    assert _by_path(tmp_path, entries)["deep/a/b/keep.txt"] is None


def test_a_file_named_explicitly_is_read_even_in_a_vendored_directory(tmp_path: Path) -> None:
    _tree(tmp_path)
    target = tmp_path / "node_modules/pkg/index.js"
    assert list(iter_files([target])) == [FileEntry(target, target.stat().st_size)]
    assert [e.skipped for e in iter_files([target], exclude=["index.js"])] == [EXCLUDED]


def test_symbolic_links_met_in_a_walk_are_skipped(tmp_path: Path) -> None:
    _tree(tmp_path)
    os.symlink(tmp_path / "app", tmp_path / "loop")
    os.symlink(tmp_path / "app/main.py", tmp_path / "link.py")
    by_path = _by_path(tmp_path, list(iter_files([tmp_path])))
    assert by_path["loop"] == SYMLINK
    assert by_path["link.py"] == SYMLINK
    assert [e.skipped for e in iter_files([tmp_path / "link.py"])] == [None]


def test_order_is_stable(tmp_path: Path) -> None:
    _tree(tmp_path)
    first = [e.path for e in iter_files([tmp_path])]
    assert first == [e.path for e in iter_files([tmp_path])]
    assert first == sorted(first, key=lambda p: p.relative_to(tmp_path).parts)


def test_a_missing_path_is_a_validation_error_before_anything_is_read(tmp_path: Path) -> None:
    _tree(tmp_path)
    with pytest.raises(ValidationError, match="no such file or directory"):
        next(iter_files([tmp_path, tmp_path / "absent"]))


def test_is_binary_applies_the_same_rule_to_bytes_in_hand() -> None:
    assert is_binary(b"PK\x03\x04\x00")
    assert not is_binary("clé = 'valeur'\n".encode())
    assert not is_binary(b"x" * 8192 + b"\x00")  # past the sniffed head
