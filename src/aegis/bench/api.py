"""``aegis bench api``: ``/ohlcv`` returning 10,000 candles, timed over loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from aegis.core.config import Settings
from aegis.domain.candles import Candle
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore


@dataclass
class ApiResult:
    candles: int
    requests: int
    p50_ms: float
    p99_ms: float
    bytes: int


async def _seed(db: Path, n: int) -> None:
    from aegis.reference import load_instruments

    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    await store.upsert_instruments(load_instruments())
    # recent minutes, so that the server's retention (1m: 90 days) keeps them
    from aegis.core.timeutil import now_us

    start = (now_us() // 60_000_000 - n - 60) * 60_000_000
    price = 200_000
    rows = []
    for i in range(n):
        t = start + i * 60_000_000
        rows.append(
            Candle(
                "005930",
                "1m",
                t,
                price,
                price + 500,
                price - 500,
                price + 100,
                1000,
                1000 * price,
                10,
                t,
                0,
                t + 59_000_000,
                9,
                "sim",  # synthetic benchmark data
            )
        )
    await store.upsert_candles(rows)
    await store.close()


class BenchError(RuntimeError):
    """The benchmark's own setup failed (not a figure)."""


def _wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with {proc.returncode} before it was healthy")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise BenchError("the server was not healthy within 120 s")


def run(n: int, requests: int) -> ApiResult:
    with tempfile.TemporaryDirectory() as d:
        # the server below runs the simulator, which reads its own file (aegis-sim.db): seed the
        # file that server will read, not a fixed name
        served = Settings(data_dir=Path(d), source="sim").sqlite_path
        asyncio.run(_seed(served, n))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **os.environ,
            "AEGIS_DATA_DIR": d,
            "AEGIS_SOURCE": "sim",
            "AEGIS_SIM_SYMBOLS": "000660",
            "AEGIS_LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "aegis", "serve", "--port", str(port)], env=env
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base, proc)
            with httpx.Client(base_url=base) as c:
                cid = c.get("/api/v1/companies", params={"keyword": "005930"}).json()["data"][0][
                    "companyId"
                ]
                url = f"/api/v1/companies/{cid}/ohlcv"
                params: dict[str, str | int] = {"interval": "1m", "limit": n}
                times = []
                size = 0
                for i in range(requests + 5):
                    t0 = time.perf_counter()
                    r = c.get(url, params=params)
                    dt = (time.perf_counter() - t0) * 1000
                    got = len(r.json().get("data") or []) if r.status_code == 200 else None
                    if got != n:
                        raise BenchError(
                            f"GET {url} returned status {r.status_code} with {got} candles, "
                            f"expected {n}: the server does not serve the seeded store"
                        )
                    size = len(r.content)
                    if i >= 5:  # warm-up
                        times.append(dt)
            times.sort()
            return ApiResult(
                n,
                requests,
                times[len(times) // 2],
                times[min(len(times) - 1, int(0.99 * len(times)))],
                size,
            )
        finally:
            proc.terminate()
            proc.wait(20)
