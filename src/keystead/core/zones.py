"""IANA time zones by name, as restrictions and quotas take them.

``ZoneInfo`` also opens names whose meaning depends on the host (``localtime``,
``posixrules``, the ``posix/`` and ``right/`` trees of a system zone database):
the same rule would then mean another time on another server, so they are refused.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HOST_DEPENDENT = re.compile(r"localtime|posixrules|(?:posix|right)/.*")


def zone_named(name: str) -> ZoneInfo:
    """The zone called ``name``; ``ValueError`` for an unknown or host-dependent name."""
    if _HOST_DEPENDENT.fullmatch(name):
        raise ValueError(f"{name!r} depends on the host")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}") from None


__all__ = ["zone_named"]
