"""A reverse proxy that checks API keys in front of any HTTP upstream
(``keystead gateway --config gateway.yaml``). Reference: docs/gateway.md."""

from keystead.gateway._fields import ConfigError
from keystead.gateway.app import Gateway
from keystead.gateway.config import GatewayConfig, load_config, parse_config

__all__ = ["ConfigError", "Gateway", "GatewayConfig", "load_config", "parse_config"]
