"""The calls of key imports (docs/operations.md, "Importing keys")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keystead.client._call import Call, endpoint, get, post, read_object


class KeyImportApi:
    @endpoint(("POST", "/v1/keys/import"))
    def import_keys(
        self, rows: Sequence[Mapping[str, Any]], *, dry_run: bool = False
    ) -> Call[dict[str, Any]]:
        """Import up to 1000 rows; the report counts imported, skipped, failed and
        valid rows and has one entry per row (its error, if any)."""
        return post("/v1/keys/import", read_object, {"rows": list(rows), "dry_run": dry_run})

    @endpoint(("GET", "/v1/keys/import/status"))
    def key_import_status(self) -> Call[dict[str, Any]]:
        """``legacy``: keys still on a legacy hash; per scheme, imported and legacy."""
        return get("/v1/keys/import/status", read_object)


__all__ = ["KeyImportApi"]
