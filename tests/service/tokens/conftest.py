"""A service with a master key, an API and a key of it: what token tests start from."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

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


@pytest.fixture
async def setup(vault: Keystead) -> Setup:
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
