"""The calls of the secret lifecycle: who reads which version of a secret
(consumers) and rotation policies, per secret and per mount (docs/secrets.md).

Durations are seconds or a ``timedelta``. None of these answers carries a value
or a key: consumers are named by root key id, name and ``start``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from keystead.client._call import Call, compact, endpoint, get, read_object, seg

_DOTS = {".": "%2E", "..": "%2E%2E"}
_CONSUMERS = "/v1/secrets/{mount}/consumers/{path}"
_ROTATION = "/v1/secrets/{mount}/rotation/{path}"
_MOUNT_ROTATION = "/v1/secrets/{mount}/rotation"


def secret_path(path: str) -> str:
    """A secret's path for a URL: each segment percent-encoded, dot segments too
    (an HTTP client would resolve ``a/../b`` to ``b``); the server normalises and
    checks the path, and refuses ``..`` or an empty segment with a 4xx."""
    stripped = path.strip("/")
    if not stripped:
        raise ValueError("a secret path is required")
    return "/".join(_DOTS.get(s) or quote(s, safe="") for s in stripped.split("/"))


def seconds(value: int | timedelta, name: str) -> int:
    if isinstance(value, timedelta):
        whole = value.total_seconds()
        if whole != int(whole):
            raise ValueError(f"{name} is a whole number of seconds")
        return int(whole)
    return value


def _policy(max_age: int | timedelta, warn_before: int | timedelta | None) -> dict[str, Any]:
    return compact(
        max_age_s=seconds(max_age, "max_age"),
        warn_before_s=None if warn_before is None else seconds(warn_before, "warn_before"),
    )


class SecretLifecycleApi:
    # -- consumers ------------------------------------------------------------

    @endpoint(("GET", _CONSUMERS))
    def secret_consumers(
        self, path: str, *, mount: str = "secret", version: int | None = None
    ) -> Call[dict[str, Any]]:
        """Who read which version: ``{"mount", "path", "current_version", "items":
        [{"version", "credential", "kind", "name", "start", "revoked",
        "first_read", "last_read", "reads"}]}``, newest version first. ``version``
        answers "who still reads version 3?". Needs ``secrets.admin`` on the path."""
        url = f"/v1/secrets/{seg(mount)}/consumers/{secret_path(path)}"
        return get(url, read_object, version=version)

    # -- a secret's rotation policy -------------------------------------------

    @endpoint(("GET", _ROTATION))
    def read_secret_rotation(self, path: str, *, mount: str = "secret") -> Call[dict[str, Any]]:
        """The policy that applies (``source``: secret, mount or null) and when the
        latest live version warns (``warn_at``) and is due (``due_at``)."""
        return Call("GET", f"/v1/secrets/{seg(mount)}/rotation/{secret_path(path)}", read_object)

    @endpoint(("PUT", _ROTATION))
    def set_secret_rotation(
        self,
        path: str,
        *,
        max_age: int | timedelta,
        warn_before: int | timedelta | None = None,
        mount: str = "secret",
    ) -> Call[dict[str, Any]]:
        """Rotate the secret ``max_age`` after its latest version was written;
        ``secret.rotation_due`` and an alert come ``warn_before`` earlier."""
        url = f"/v1/secrets/{seg(mount)}/rotation/{secret_path(path)}"
        return Call("PUT", url, read_object, json=_policy(max_age, warn_before))

    @endpoint(("DELETE", _ROTATION))
    def clear_secret_rotation(self, path: str, *, mount: str = "secret") -> Call[dict[str, Any]]:
        """Remove the secret's own policy; answers the one that applies now."""
        url = f"/v1/secrets/{seg(mount)}/rotation/{secret_path(path)}"
        return Call("DELETE", url, read_object)

    # -- a mount's default ----------------------------------------------------

    @endpoint(("GET", _MOUNT_ROTATION))
    def read_mount_rotation(self, mount: str = "secret") -> Call[dict[str, Any]]:
        return Call("GET", f"/v1/secrets/{seg(mount)}/rotation", read_object)

    @endpoint(("PUT", _MOUNT_ROTATION))
    def set_mount_rotation(
        self,
        *,
        max_age: int | timedelta,
        warn_before: int | timedelta | None = None,
        mount: str = "secret",
    ) -> Call[dict[str, Any]]:
        """The default of every secret of the mount without a policy of its own."""
        body = _policy(max_age, warn_before)
        return Call("PUT", f"/v1/secrets/{seg(mount)}/rotation", read_object, json=body)

    @endpoint(("DELETE", _MOUNT_ROTATION))
    def clear_mount_rotation(self, mount: str = "secret") -> Call[dict[str, Any]]:
        return Call("DELETE", f"/v1/secrets/{seg(mount)}/rotation", read_object)


__all__ = ["SecretLifecycleApi"]
