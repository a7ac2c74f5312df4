"""The real app under uvicorn as a task of the test's own event loop, so that fakes of external
services (brokers) run in the same loop and a test can look at the runtime directly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn

from aegis.api.app import create_app
from aegis.api.serving import uvicorn_options
from aegis.core.config import Settings
from aegis.services.runtime import Runtime
from tests.support.server import free_port


@asynccontextmanager
async def serving(
    settings: Settings, runtime: Runtime, web_dist: Path | None = None, **uvicorn_kw: object
) -> AsyncIterator[str]:
    """Yields ``host:port``."""
    port = free_port()
    app = create_app(settings, runtime=runtime, web_dist=web_dist or settings.data_dir / "none")
    options = uvicorn_options(settings) | uvicorn_kw  # what `aegis serve` runs, adjustable
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(60):
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server did not start")
            await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
