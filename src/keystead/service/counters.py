"""Names of limiter counters.

Every counter of a workspace carries the workspace id as its Redis Cluster
hash tag (``{ws_...}``), so all counters one verification touches (key, owner,
per-IP) live in one slot and are decided by one atomic script. Owner ids are
the user's own strings: percent-encoded so no id can collide with a suffix.
"""

from __future__ import annotations

from urllib.parse import quote


def key_prefix(workspace_id: str, key_id: str) -> str:
    return f"{{{workspace_id}}}k:{key_id}:"


def owner_prefix(workspace_id: str, owner_id: str) -> str:
    return f"{{{workspace_id}}}o:{quote(owner_id, safe='')}:"


def ip_prefix(workspace_id: str, api_id: str) -> str:
    """Followed by ``<ip>:<limit name>`` at verification time."""
    return f"{{{workspace_id}}}a:{api_id}:ip:"


def failed_attempts(ip: str) -> str:
    """Failed verifications of one client IP, across workspaces."""
    return f"{{failed}}ip:{ip}"
