"""What token tests start from: a service with a master key, an API and a key of it."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.core.authz import Principal
from keystead.core.models import Api, CreatedKey
from keystead.service import Keystead


@dataclass
class Setup:
    ks: Keystead
    root: Principal
    api: Api
    created: CreatedKey

    @property
    def key(self) -> str:
        return self.created.plaintext

    @property
    def key_id(self) -> str:
        return self.created.key.id


async def given(vault: Keystead) -> Setup:
    """An API named orders and a key of it (in the service the ``vault`` fixture opens)."""
    root = await vault.workspaces.local_operator()
    api = await vault.apis.create(root, name="orders")
    created = await vault.keys.create(
        root,
        api_id=api.id,
        permissions=["orders.read", "orders.write", "invoices.*"],
        meta={"plan": "gold"},
        owner_id="user_1",
    )
    return Setup(vault, root, api, created)
