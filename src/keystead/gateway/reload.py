"""Hot reload: the configuration file is checked for changes every second (and
re-read on SIGHUP where the process can take signals). A file that fails to
load is logged and the running configuration stays."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

from keystead.gateway._fields import ConfigError
from keystead.gateway.config import GatewayConfig, load_config

logger = logging.getLogger("keystead.gateway")

Signature = tuple[int, int, int, int] | None


def _signature(path: Path) -> Signature:
    """What changes when the file is written or replaced."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)


class ConfigWatcher:
    """Calls ``apply`` with each new configuration that loads."""

    def __init__(
        self, path: str | Path, apply: Callable[[GatewayConfig], None], interval_s: float = 1.0
    ) -> None:
        self._path = Path(path)
        self._apply = apply
        self._interval = interval_s
        self._signature = _signature(self._path)
        self._task: asyncio.Task[None] | None = None
        self.listens_for_sighup = False

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._poll())
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self.reload)  # main thread, Unix only
            self.listens_for_sighup = True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            signature = _signature(self._path)
            if signature != self._signature:
                self._signature = signature
                self.reload()

    def reload(self) -> bool:
        """Load the file and apply it; False (and an error logged) if it does not load."""
        try:
            config = load_config(self._path)
        except ConfigError as exc:
            logger.error(
                "gateway configuration %s not applied, the running one stays: %s",
                self._path,
                exc.detail,
            )
            return False
        except Exception:  # a defect must not stop the watching
            logger.exception("gateway configuration %s could not be loaded", self._path)
            return False
        self._apply(config)
        return True

    async def close(self) -> None:
        if self.listens_for_sighup:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self.listens_for_sighup = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


__all__ = ["ConfigWatcher"]
