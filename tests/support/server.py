"""The real app under uvicorn on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from aegis.api.app import create_app
from aegis.api.serving import uvicorn_options
from aegis.core.config import Settings
from aegis.services.runtime import Runtime
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.support.sources import ScriptedSource


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(
    tmp_path: Path, *, ping: float = 20.0, **overrides: object
) -> Iterator[tuple[str, Runtime, ScriptedSource]]:
    settings = Settings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]
    upgrade_all(settings.store_url, settings.app_db_url)
    source = ScriptedSource()
    rt = Runtime(settings, store=SQLiteStore(settings.sqlite_path), sources=[source])
    port = free_port()
    options = uvicorn_options(settings) | {"ws_ping_interval": ping, "ws_ping_timeout": ping}
    config = uvicorn.Config(
        create_app(settings, runtime=rt, web_dist=tmp_path / "none"),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}", rt, source
    finally:
        server.should_exit = True
        thread.join(15)
