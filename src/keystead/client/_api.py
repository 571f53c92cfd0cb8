"""Every call of the HTTP API, gathered for both clients."""

from __future__ import annotations

from keystead.client._alerts import AlertsApi
from keystead.client._analytics import AnalyticsApi
from keystead.client._audit import AuditApi
from keystead.client._core import CoreApi
from keystead.client._custody import CustodyApi
from keystead.client._exposure import ExposureApi
from keystead.client._key_import import KeyImportApi
from keystead.client._leaks import LeaksApi
from keystead.client._limits import LimitsApi
from keystead.client._portal import PortalApi
from keystead.client._rotation import RotationApi
from keystead.client._secret_lifecycle import SecretLifecycleApi
from keystead.client._secrets import SecretsApi
from keystead.client._server_secret import ServerSecretApi
from keystead.client._tokens import TokensApi
from keystead.client._verifying import VerifyApi
from keystead.client._webhooks import WebhooksApi


class HttpApi(
    CoreApi,
    VerifyApi,
    LimitsApi,
    RotationApi,
    WebhooksApi,
    CustodyApi,
    ExposureApi,
    LeaksApi,
    AuditApi,
    AnalyticsApi,
    AlertsApi,
    SecretsApi,
    SecretLifecycleApi,
    TokensApi,
    PortalApi,
    ServerSecretApi,
    KeyImportApi,
):
    """The calls; ``Client`` runs them blocking, ``AsyncClient`` on its event loop."""


__all__ = ["HttpApi"]
