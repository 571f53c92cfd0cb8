"""Workspaces and bootstrap: the first workspace and its first root key.

These run for the local operator only (the CLI, the embedded library), so
their audit entries name it as the actor (``cli``), in the new workspace's
chain: ``workspace.create`` first, then ``root_key.create``."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.core.authz import Principal, local_operator
from keystead.core.ids import new_id
from keystead.core.models import CreatedRootKey, Workspace
from keystead.errors import AlreadyInitialised, NotFound, ValidationError
from keystead.service.context import ServiceContext
from keystead.service.root_keys import RootKeyService


@dataclass(slots=True, frozen=True)
class Bootstrap:
    workspace: Workspace
    root_key: CreatedRootKey


class WorkspaceService:
    def __init__(self, ctx: ServiceContext, root_keys: RootKeyService) -> None:
        self._ctx = ctx
        self._root_keys = root_keys

    async def is_initialised(self) -> bool:
        for workspace in await self._ctx.store.list_workspaces():
            if await self._ctx.store.list_root_keys(workspace.id):
                return True
        return False

    async def init(self, name: str = "default") -> Bootstrap:
        """First workspace and root key; refuses once a root key exists."""
        if await self.is_initialised():
            raise AlreadyInitialised("this store already has a workspace with a root key")
        existing = await self._ctx.store.list_workspaces()
        workspace = existing[0] if existing else await self._insert(name)
        return Bootstrap(workspace, await self._first_root_key(workspace))

    async def create(self, name: str) -> Bootstrap:
        workspace = await self._insert(name)
        return Bootstrap(workspace, await self._first_root_key(workspace))

    async def list(self) -> list[Workspace]:
        return await self._ctx.store.list_workspaces()

    async def local_operator(self, workspace_id: str | None = None) -> Principal:
        """The local operator (CLI, embedded library): every permission in one
        workspace; the first one, created on first use, unless one is named."""
        if workspace_id is not None:
            if await self._ctx.store.get_workspace(workspace_id) is None:
                raise NotFound(f"no workspace '{workspace_id}'")
            return local_operator(workspace_id)
        existing = await self._ctx.store.list_workspaces()
        workspace = existing[0] if existing else await self._insert("default")
        return local_operator(workspace.id)

    async def _insert(self, name: str) -> Workspace:
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
            raise ValidationError("a workspace name is 1 to 200 characters", field="name")
        workspace = Workspace(
            id=new_id("ws", self._ctx.clock.now()), name=name.strip(), created_at=self._ctx.now()
        )
        operator = local_operator(workspace.id)
        self._ctx.audit(operator, "workspace.create", "workspace", workspace.id, after=workspace)
        await self._ctx.store.insert_workspace(workspace)
        return workspace

    async def _first_root_key(self, workspace: Workspace) -> CreatedRootKey:
        return await self._root_keys.issue(
            workspace.id, name="initial root key", audit_as=local_operator(workspace.id)
        )
