"""``keystead hooks``: a plain git pre-commit hook, for repositories without
the pre-commit framework (with it, use the ``keystead-scan`` hook of
``.pre-commit-hooks.yaml``).

    keystead hooks install       # .git/hooks/pre-commit runs keystead scan --staged
    keystead hooks uninstall

A hook that Keystead did not write is never overwritten without ``--force``;
with it, the old hook is kept beside as ``pre-commit.before-keystead`` and
``uninstall`` puts it back.
"""

from __future__ import annotations

import shlex
import stat
import sys
from pathlib import Path
from typing import Annotated

import typer

from keystead.cli import _output as out
from keystead.cli._runtime import EXIT_ERROR, JsonOption, UsageProblem, command
from keystead.scan import git

app = typer.Typer(help="Git hooks that block commits carrying secrets.", no_args_is_help=True)

HOOK = "pre-commit"
BACKUP = "pre-commit.before-keystead"
MARKER = "# keystead-hook: written by `keystead hooks install`"

RepoOption = Annotated[
    Path,
    typer.Option("--repo", help="The git repository (default: the current one).", file_okay=False),
]


def hook_script(python: str) -> str:
    """The hook: this installation's interpreter first (a virtualenv need not
    be active when git runs the hook), then ``keystead`` on PATH."""
    return f"""#!/bin/sh
{MARKER}
# Blocks a commit that adds a secret. Skip it once: git commit --no-verify
# Remove it: keystead hooks uninstall
KEYSTEAD_PYTHON={shlex.quote(python)}
if [ -x "$KEYSTEAD_PYTHON" ]; then
    exec "$KEYSTEAD_PYTHON" -m keystead.cli scan --staged
fi
if command -v keystead >/dev/null 2>&1; then
    exec keystead scan --staged
fi
echo "keystead pre-commit hook: keystead is not installed (pip install keystead);" \\
     "commit blocked. Skip once with git commit --no-verify" >&2
exit 1
"""


def _hook_path(repo: Path) -> Path:
    try:
        root = git.toplevel(repo.resolve())
        return git.hooks_dir(root) / HOOK
    except git.GitError as exc:
        raise UsageProblem(exc.message) from None


def ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


@command(app, "install")
def install(
    repo: RepoOption = Path("."),
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace a pre-commit hook Keystead did not write (kept aside)."
        ),
    ] = False,
    json_mode: JsonOption = False,
) -> None:
    """Write .git/hooks/pre-commit so that every commit runs keystead scan --staged."""
    hook = _hook_path(repo)
    backup: Path | None = None
    if hook.exists() and not ours(hook):
        if not force:
            out.error(
                f"{hook} exists and was not written by Keystead: left alone. Add "
                "`keystead scan --staged` to it, or replace it with --force (it is kept as "
                f"{BACKUP})"
            )
            raise typer.Exit(EXIT_ERROR)
        backup = hook.with_name(BACKUP)
        hook.replace(backup)
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(hook_script(sys.executable), encoding="utf-8")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    data = {"hook": str(hook), "installed": True, "backup": None if backup is None else str(backup)}

    def render(_console: object) -> None:
        out.note(f"installed {hook}: commits now run keystead scan --staged")
        if backup is not None:
            out.note(f"the previous hook is kept as {backup}")

    out.emit(data, json_mode, render)


@command(app, "uninstall")
def uninstall(repo: RepoOption = Path("."), json_mode: JsonOption = False) -> None:
    """Remove the hook Keystead wrote (and put back the one it replaced)."""
    hook = _hook_path(repo)
    if hook.exists() and not ours(hook):
        out.error(f"{hook} was not written by Keystead: left alone")
        raise typer.Exit(EXIT_ERROR)
    removed = hook.exists()
    if removed:
        hook.unlink()
    backup = hook.with_name(BACKUP)
    restored = backup.exists()
    if restored:
        backup.replace(hook)
    data = {"hook": str(hook), "removed": removed, "restored": restored}

    def render(_console: object) -> None:
        if not removed:
            out.note(f"no Keystead hook at {hook}")
        else:
            out.note(f"removed {hook}" + (" and put back the previous hook" if restored else ""))

    out.emit(data, json_mode, render)


__all__ = ["BACKUP", "HOOK", "MARKER", "app", "hook_script", "install", "ours", "uninstall"]
