"""An API's token policy: whether tokens are issued, how, and for how long."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TokenPolicy:
    enabled: bool = True
    algorithm: str = "EdDSA"
    default_ttl_s: int = 300
    min_ttl_s: int = 10
    max_ttl_s: int = 3600
    audiences: tuple[str, ...] = ()
    include_meta: bool = False
    allowed_claims: tuple[str, ...] = ()
    rotate_every_s: int | None = None

    @classmethod
    def from_dict(cls, data: Any) -> TokenPolicy:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def check_ttl(self, ttl_s: int | None) -> int:
        raise NotImplementedError

    def allowed_audience(self, audience: str | None, api_id: str) -> bool:
        raise NotImplementedError


__all__ = ["TokenPolicy"]
