"""What every HTTP stand-in shares: an aiohttp server on loopback, started and stopped, usable with
`async with`. A stand-in adds its routes (`routes`) and, where it must, its own start and stop steps."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


class HttpStandin:
    client_max_size = 1024**2  # aiohttp's default request body limit

    def __init__(self) -> None:
        self.url = ""  # the base URL once started
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen (port 0 = any free port); return the base URL."""
        app = web.Application(client_max_size=self.client_max_size)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
