"""The application service: ``Keystead`` and what its methods return."""

from keystead.service.keystead import Keystead
from keystead.service.workspaces import Bootstrap

__all__ = ["Bootstrap", "Keystead"]
