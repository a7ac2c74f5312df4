"""A throwaway ``aegis serve`` on a free loopback port for bench scenarios."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def serve(extra_env: dict[str, str], startup_s: float = 180.0) -> Iterator[str]:
    """Start the simulator server in a fresh data directory; yields its base URL."""
    with tempfile.TemporaryDirectory() as d:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **os.environ,
            "AEGIS_DATA_DIR": d,
            "AEGIS_SOURCE": "sim",
            "AEGIS_LOG_LEVEL": "WARNING",
            **extra_env,
        }
        proc = subprocess.Popen([sys.executable, "-m", "aegis", "serve", "--port", str(port)],
                                env=env)  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + startup_s
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
