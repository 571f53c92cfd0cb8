"""Refresh the dashboard's vendored assets from the npm registry (``make web-assets``).

Each package is pinned below; its tarball is fetched from registry.npmjs.org,
checked against the registry's sha512 integrity, and the listed files are copied
into ``src/keystead/web/static/vendor/`` with the package's licence. VENDOR.md
records package, version, licence and each file's sha256. Run by hand when
bumping a version; never part of ``make test`` (it needs the network).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent.parent / "src" / "keystead" / "web" / "static" / "vendor"
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    # package: (version, {file in the tarball: name in vendor/})
    "htmx.org": ("2.0.11", {"package/dist/htmx.min.js": "htmx.min.js"}),
    "uplot": (
        "1.6.32",
        {
            "package/dist/uPlot.iife.min.js": "uPlot.iife.min.js",
            "package/dist/uPlot.min.css": "uPlot.min.css",
        },
    ),
}
LICENCE_FILE = "package/LICENSE"


def fetch(url: str) -> bytes:
    if not url.startswith(REGISTRY + "/"):
        raise SystemExit(f"refusing to fetch outside the npm registry: {url}")
    with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310 - https, fixed host
        body: bytes = answer.read()
    return body


def vendor(name: str, version: str, files: dict[str, str]) -> list[str]:
    meta = json.loads(fetch(f"{REGISTRY}/{name}/{version}"))
    tarball = fetch(meta["dist"]["tarball"])
    algorithm, _, expected = meta["dist"]["integrity"].partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{name}@{version}: the tarball does not match the registry's integrity")
    rows = []
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member, target in {**files, LICENCE_FILE: f"{name}.LICENSE.txt"}.items():
            extracted = archive.extractfile(member)
            if extracted is None:
                raise SystemExit(f"{name}@{version}: {member} missing")
            data = extracted.read()
            (VENDOR / target).write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            rows.append(f"| `{target}` | {name} | {version} | {meta['license']} | `{digest}` |")
    return rows


def main() -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (version, files) in PACKAGES.items():
        rows += vendor(name, version, files)
        print(f"vendored {name}@{version}")
    lines = [
        "# Vendored browser assets",
        "",
        "Fetched from the npm registry by `make web-assets` (scripts/web_assets.py), which",
        "checks each tarball against the registry's sha512 integrity. Do not edit by hand.",
        "",
        "| File | Package | Version | Licence | sha256 |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    (VENDOR / "VENDOR.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
