"""The Vault face: HashiCorp Vault's HTTP API under ``/vault`` (see ``app.py``)."""

from keystead.http.vault.app import MOUNT_HANDLERS, MOUNT_ROUTES, PREFIX, routes, vault_asgi

__all__ = ["MOUNT_HANDLERS", "MOUNT_ROUTES", "PREFIX", "routes", "vault_asgi"]
