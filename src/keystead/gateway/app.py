"""The gateway as an ASGI application: lifespan, the running configuration, reloads."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.types import Receive, Scope, Send

from keystead.gateway.config import GatewayConfig, load_config
from keystead.gateway.pool import Pools
from keystead.gateway.problems import problem, respond
from keystead.gateway.proxy import Proxy
from keystead.gateway.reload import ConfigWatcher
from keystead.service import Keystead
from keystead.service.heap import freeze_startup_heap
from keystead.service.shedding import LoadShedder

logger = logging.getLogger("keystead.gateway")

CONFIG_ENV = "KEYSTEAD_GATEWAY_CONFIG"
"""Where ``create_from_env`` (each server worker) finds the configuration file."""
_STARTING = problem(503, "the gateway is not running")


class Gateway:
    """A reverse proxy that checks API keys: ``Gateway(config)`` opens its own
    ``Keystead`` from the configuration's settings at startup; pass ``keystead``
    to use one you own. With ``config_path`` the file is watched and reloaded."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        keystead: Keystead | None = None,
        config_path: str | Path | None = None,
        reload_interval_s: float = 1.0,
    ) -> None:
        self.config = config
        self.proxy: Proxy | None = None
        self._ks = keystead
        self._owns_keystead = keystead is None
        self._pools = Pools()
        self._shedder: LoadShedder | None = None
        self.watcher = (
            None
            if config_path is None
            else ConfigWatcher(config_path, self.apply, interval_s=reload_interval_s)
        )

    @classmethod
    def from_file(cls, path: str | Path, **options: object) -> Gateway:
        """The gateway of a configuration file, reloaded when the file changes."""
        return cls(load_config(path), config_path=path, **options)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            proxy = self.proxy
            if proxy is None:
                await respond(send, _STARTING)
                return
            shedder = self._shedder
            if shedder is None:
                await proxy(scope, receive, send)
                return
            shedder.enter()  # requests in flight drive load shedding (KEYSTEAD_SHED_*)
            try:
                await proxy(scope, receive, send)
            finally:
                shedder.leave()
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # WebSocket: not proxied (docs/gateway.md)
            await send({"type": "websocket.close", "code": 1003})

    async def start(self) -> None:
        if self._ks is None:
            self._ks = await Keystead.open(settings=self.config.settings(), create_secret=False)
        shedder = self._ks.shedder
        self._shedder = shedder if shedder.max_inflight > 0 else None
        self._install(self.config)
        if self.watcher is not None:
            self.watcher.start()

    async def close(self) -> None:
        if self.watcher is not None:
            await self.watcher.close()
        self.proxy = None
        self._pools.close()
        ks = self._ks
        if ks is not None and self._owns_keystead:
            self._ks = None
            await ks.close()

    def apply(self, config: GatewayConfig) -> None:
        """Switch to ``config``: new requests use it, requests under way finish on
        the old one; pools of upstreams no route uses any more are closed."""
        old = self.config
        if config.listen != old.listen or dict(config.keystead) != dict(old.keystead):
            logger.warning("gateway: listen and keystead changes take effect on restart")
            config = GatewayConfig(
                routes=config.routes,
                listen=old.listen,
                keystead=old.keystead,
                key_sources=config.key_sources,
                hide_credentials=config.hide_credentials,
            )
        self._install(config)
        logger.info("gateway configuration applied: %d routes", len(config.routes))

    def _install(self, config: GatewayConfig) -> None:
        assert self._ks is not None  # noqa: S101 - started
        pools = self._pools.for_origins({route.upstream.origin for route in config.routes})
        self.proxy = Proxy(config, pools, self._ks)
        self.config = config

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            await self.start()
        except Exception as exc:
            logger.error("gateway cannot start: %s", getattr(exc, "detail", exc))
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        freeze_startup_heap(tune=self._ks is None or self._ks.settings.gc_tuning)
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await self.close()
        await send({"type": "lifespan.shutdown.complete"})


def create_from_env() -> Gateway:
    """The app factory the server workers run: the file named by ``CONFIG_ENV``."""
    return Gateway.from_file(os.environ[CONFIG_ENV])


__all__ = ["CONFIG_ENV", "Gateway", "create_from_env"]
