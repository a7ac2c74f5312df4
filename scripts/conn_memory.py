"""Server memory per WebSocket connection, apart from market growth: start the bench fanout
server (whole listing, a slow market), connect N clients subscribed to 16 traded symbols each,
and print the RSS growth per connection overall and for the second half alone (the marginal
cost, less sensitive to what the server allocates once).

    uv run python scripts/conn_memory.py 4000 [market ticks/s, default 100]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time

import orjson
import websockets

from aegis.bench.fanout import _free_port, _wait_healthy
from aegis.bench.paced import traded_symbols
from aegis.bench.rss import rss_mb
from aegis.reference import load_instruments


async def connect(port: int, n: int, pid: int, universe: list[str]) -> tuple[float, float]:
    """RSS after n/2 and after n connections (MB)."""
    rnd = random.Random(1)
    conns = []
    mid = 0.0
    for i in range(n):
        if i == n // 2:
            await asyncio.sleep(3)
            mid = rss_mb(pid) or 0.0
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/stocks?batch=1", max_queue=None, ping_interval=None
        )
        subscribe = {"action": "subscribe", "symbols": rnd.sample(universe, 16)}
        await ws.send(orjson.dumps(subscribe).decode())
        conns.append(ws)

    async def drain(ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _ in ws:
                pass

    readers = [asyncio.create_task(drain(w)) for w in conns]
    await asyncio.sleep(5)
    after = rss_mb(pid) or 0.0
    for w in conns:
        await w.close()
    await asyncio.gather(*readers, return_exceptions=True)
    return mid, after


def main() -> None:
    n = int(sys.argv[1])
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 100.0
    port = _free_port()
    env = {**os.environ, "AEGIS_LOG_LEVEL": "WARNING", "AEGIS_WS_COMPRESSION": "false"}
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "aegis.bench.fanout_server", "--port", str(port)]
        proc = subprocess.Popen([*cmd, "--rate", str(rate), "--data-dir", d], env=env)
        try:
            _wait_healthy(port, proc)
            universe = traded_symbols(load_instruments())
            time.sleep(3)
            base = rss_mb(proc.pid) or 0.0
            mid, after = asyncio.run(connect(port, n, proc.pid, universe))
            print(
                f"{n} connections: RSS {base:.1f} → {mid:.1f} → {after:.1f} MB; "
                f"{(after - base) * 1024 / n:.1f} KB per connection, the second half "
                f"{(after - mid) * 1024 / (n - n // 2):.1f} KB each"
            )
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
