"""The calls of the server secret's versions: status, rotation, retirement."""

from __future__ import annotations

from typing import Any

from keystead.client._call import Call, compact, endpoint, get, post, read_object


class ServerSecretApi:
    @endpoint(("GET", "/v1/server_secret"))
    def server_secret_status(self) -> Call[dict[str, Any]]:
        """``newest`` and each version's ``state`` and ``keys``/``root_keys`` still
        hashed under it."""
        return get("/v1/server_secret", read_object)

    @endpoint(("POST", "/v1/server_secret/rotate"))
    def rotate_server_secret(self, *, settle_s: float | None = None) -> Call[dict[str, Any]]:
        """Add a version, pending for ``settle_s`` (default: twice the servers'
        refresh interval), then the one new keys are hashed under."""
        return post("/v1/server_secret/rotate", read_object, compact(settle_s=settle_s))

    @endpoint(("POST", "/v1/server_secret/retire"))
    def retire_server_secret(self, version: int, *, force: bool = False) -> Call[dict[str, Any]]:
        """Stop trying ``version``; refused (409) while keys use it unless ``force``."""
        return post("/v1/server_secret/retire", read_object, {"version": version, "force": force})


__all__ = ["ServerSecretApi"]
