"""The calls of leak response: report leaked keys, read what was done, and the
leak policy (docs/scanning/leaks.md).

``report_leaks`` (also ``client.leaks.report``) sends tokens in plaintext to the
server that issued them, which answers per token ``live`` (handled now by its
policy), ``already_revoked`` or ``unknown``; the answer never carries a token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from keystead.client._call import Call, compact, endpoint, get, jsonable, post, read_object, seg

_POLICY = "/v1/leaks/policy"


def _reports(
    tokens: str | Sequence[str | Mapping[str, Any]], shared: dict[str, Any]
) -> list[dict[str, Any]]:
    """One report per token; a mapping's own fields win over the shared ones."""
    if isinstance(tokens, str):
        tokens = [tokens]
    out = []
    for token in tokens:
        given = {"token": token} if isinstance(token, str) else dict(token)
        out.append(jsonable({**shared, **compact(**given)}))
    return out


class LeaksApi:
    @endpoint(("POST", "/v1/leaks"))
    def report_leaks(
        self,
        tokens: str | Sequence[str | Mapping[str, Any]],
        *,
        url: str | None = None,
        source: str | None = None,
        exposed_at: str | datetime | None = None,
        type: str | None = None,
    ) -> Call[dict[str, Any]]:
        """Report leaked tokens (needs ``leaks.report``): a token, a list of them,
        or mappings ``{token, url, source, exposed_at, type}``. ``{"items": [...]}``
        in the same order: ``token_hash``, ``status`` (live, already_revoked,
        unknown), ``outcome``, ``key_id``, ``leak_id``, ``incident_id``."""
        shared = compact(url=url, source=source, exposed_at=exposed_at, type=type)
        return post("/v1/leaks", read_object, {"reports": _reports(tokens, shared)})

    @endpoint(("GET", "/v1/leaks"))
    def list_leaks(
        self, *, key_id: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Call[dict[str, Any]]:
        """One page of reported leaks, oldest first (needs ``incidents.read``)."""
        return get("/v1/leaks", read_object, key_id=key_id, cursor=cursor, limit=limit)

    @endpoint(("GET", "/v1/leaks/{leak_id}"))
    def get_leak(self, leak_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/leaks/{seg(leak_id)}", read_object)

    @endpoint(("GET", _POLICY))
    def get_leak_policy(self, *, api_id: str | None = None) -> Call[dict[str, Any]]:
        """``{workspace, api, effective}``: the policies set and the one that applies."""
        return get(_POLICY, read_object, api_id=api_id)

    @endpoint(("PUT", _POLICY))
    def set_leak_policy(
        self,
        action: str,
        *,
        api_id: str | None = None,
        grace_period_s: int | None = None,
        replace: bool = False,
        notify: bool = True,
    ) -> Call[dict[str, Any]]:
        """``action``: revoke (``replace``: a successor in a pickup), rotate
        (``grace_period_s``) or notify; of the workspace, or of ``api_id``."""
        body = {
            "action": action,
            "replace": replace,
            "notify": notify,
            **compact(api_id=api_id, grace_period_s=grace_period_s),
        }
        return Call("PUT", _POLICY, read_object, json=body)

    @endpoint(("DELETE", _POLICY))
    def clear_leak_policy(self, *, api_id: str | None = None) -> Call[dict[str, Any]]:
        """Drop the API's policy (or the workspace's): the next one up applies."""
        return Call("DELETE", _POLICY, read_object, params=compact(api_id=api_id) or None)

    @property
    def leaks(self) -> Leaks:
        """``client.leaks.report(token, ...)``: the leak calls under one name."""
        return Leaks(self)


class Leaks:
    """The leak calls of a client under short names; each answers as the client
    does (a dict for ``Client``, an awaitable of one for ``AsyncClient``)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def report(
        self,
        *tokens: str | Mapping[str, Any],
        url: str | None = None,
        source: str | None = None,
        exposed_at: str | datetime | None = None,
        type: str | None = None,
    ) -> Any:
        """``report("ks_...", "ks_...", url=..., source="scanner")``."""
        return self._client.report_leaks(
            list(tokens), url=url, source=source, exposed_at=exposed_at, type=type
        )

    def list(self, **filters: Any) -> Any:
        return self._client.list_leaks(**filters)

    def get(self, leak_id: str) -> Any:
        return self._client.get_leak(leak_id)


__all__ = ["Leaks", "LeaksApi"]
