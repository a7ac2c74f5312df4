"""``aegis serve`` in a child process on a free loopback port, for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def serving(data_dir: str, env: dict[str, str], startup_timeout: float = 180.0) -> Iterator[str]:
    """Starts the server with ``AEGIS_DATA_DIR=data_dir`` plus ``env``; yields its base URL once
    ``/healthz`` answers; stops it on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    full_env = {**os.environ, "AEGIS_DATA_DIR": data_dir, "AEGIS_LOG_LEVEL": "WARNING", **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aegis", "serve", "--port", str(port)], env=full_env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + startup_timeout
        while time.time() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(20)
