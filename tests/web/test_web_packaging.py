"""The wheel carries the browser face's templates, static files and vendored assets."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "keystead" / "web"


def test_the_wheel_ships_templates_and_static_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("keystead-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for folder in ("templates", "static"):
        for path in (WEB / folder).rglob("*"):
            if path.is_file():
                assert f"keystead/web/{path.relative_to(WEB).as_posix()}" in names, path
    assert "keystead/web/static/vendor/VENDOR.md" in names
