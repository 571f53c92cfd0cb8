"""Django REST framework: an authentication class and permission classes over
``keystead.integrations.django.KeysteadMiddleware`` (which must be installed)::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["keystead.integrations.drf.KeysteadAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["keystead.integrations.drf.HasKeysteadKey"],
    }

    class Documents(APIView):
        permission_classes = [HasKeysteadPermission("documents.read")]

``request.auth`` is the ``Identity``; ``request.user`` a ``KeyUser`` for it.
Refusals are the middleware's problem+json answers, as everywhere else.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from keystead.core.permissions import parse_query_cached
from keystead.integrations.django import pending_of
from keystead.integrations.identity import Identity
from keystead.integrations.refusal import KeyRefused, insufficient_permissions, missing_key


class KeyUser:
    """``request.user`` for a request made with an API key: authenticated,
    not a Django user; ``pk`` is the key id (throttling keys on it)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.pk = self.id = self.username = identity.key_id

    def __str__(self) -> str:
        return f"API key {self.identity.key_id}"


class KeysteadAuthentication(BaseAuthentication):
    """Authenticates with the key the middleware verified, or verifies the
    key it holds for a public route; no key: not authenticated (None)."""

    def authenticate(self, request: Request) -> tuple[KeyUser, Identity] | None:
        pending = pending_of(request._request)
        if pending.check is None and not pending.holds_key:
            return None
        identity = pending.identity()
        return KeyUser(identity), identity

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="keystead"'


class HasKeysteadKey(BasePermission):
    """Any valid API key."""

    def has_permission(self, request: Request, view: Any) -> bool:
        _identity(request)
        return True


class _QueryPermission(BasePermission):
    query: ClassVar[str]

    def has_permission(self, request: Request, view: Any) -> bool:
        if not _identity(request).allows(self.query):
            raise KeyRefused(insufficient_permissions(self.query))
        return True


@functools.cache
def HasKeysteadPermission(query: str) -> type[BasePermission]:
    """A permission class for keys whose permissions satisfy ``query``:
    ``permission_classes = [HasKeysteadPermission("documents.read")]``."""
    parse_query_cached(query)  # a typo fails at import, not on a request
    return type(f"HasKeysteadPermission({query!r})", (_QueryPermission,), {"query": query})


def _identity(request: Request) -> Identity:
    identity = request.auth
    if not isinstance(identity, Identity):
        raise KeyRefused(missing_key())
    return identity


__all__ = ["HasKeysteadKey", "HasKeysteadPermission", "KeyUser", "KeysteadAuthentication"]
