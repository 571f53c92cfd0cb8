"""Whether a file about to hold secrets would end up in git.

``secrets export --output FILE`` warns when ``FILE`` is tracked by git
(``git ls-files --error-unmatch``) or lies in a git work tree without being ignored
(``git check-ignore``): either way the next ``git add -A`` or commit would carry
the secrets. No git, or not in a work tree: nothing to say.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

_TIMEOUT_S = 10.0


def git_exposure(path: Path) -> str | None:
    """Why ``path`` would reach git ("tracked", "not ignored"), or None."""
    git = shutil.which("git")
    if git is None:
        return None
    target = path.resolve()
    folder = target.parent
    if not folder.is_dir():
        return None
    inside = _git(git, folder, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.returncode != 0 or inside.stdout.strip() != "true":
        return None
    tracked = _git(git, folder, "ls-files", "--error-unmatch", "--", target.name)
    if tracked is not None and tracked.returncode == 0:
        return "tracked"
    ignored = _git(git, folder, "check-ignore", "-q", "--", target.name)
    if ignored is not None and ignored.returncode == 1:
        return "not ignored"
    return None


def _git(git: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(  # noqa: S603 - git, with fixed arguments
            [git, "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


__all__ = ["git_exposure"]
