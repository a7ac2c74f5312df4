"""Run a Starlette app under uvicorn on a free loopback port, inside the test's event loop."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.applications import Starlette


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class HttpServer:
    def __init__(self, app: Starlette) -> None:
        self._sock = free_socket()
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # ws="none": uvicorn's websocket backends are not needed for REST fakes
        config = uvicorn.Config(
            app, log_level="warning", ws="none", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._sock.close()
