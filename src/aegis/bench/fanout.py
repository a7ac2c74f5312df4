"""``aegis bench fanout``: N WebSocket clients × S symbols against a market at R ticks/s.

Each client counts the ticks it receives and the conflation notices, and measures latency from
the tick's timestamp (the paced source stamps ticks with the wall clock) to its arrival."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import orjson
import websockets

from aegis.bench.rss import rss_mb


@dataclass
class FanoutResult:
    clients: int
    symbols_per_client: int
    rate: float
    seconds: float
    received: int
    conflated: int
    closed_slow: int
    latencies_ms: list[float] = field(default_factory=list)
    server_rss_mb: float | None = None  # None where the platform does not tell
    server_ticks: int = 0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def _client(url: str, symbols: list[str], res: FanoutResult, sample: float) -> None:
    async with websockets.connect(url, max_queue=None, ping_interval=None) as ws:
        await ws.send(orjson.dumps({"action": "subscribe", "symbols": symbols}).decode())
        try:
            async for raw in ws:
                _count(raw, res, sample)
        except websockets.ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == 4008:
                res.closed_slow += 1


def _count(raw: str | bytes, res: FanoutResult, sample: float) -> None:
    now = time.time()
    msgs = orjson.loads(raw)
    for m in msgs if isinstance(msgs, list) else (msgs,):
        kind = m.get("type")
        if kind == "tick":
            res.received += 1
            if random.random() < sample:
                res.latencies_ms.append((now - _ts(m["timestamp"])) * 1000)
        elif kind == "conflated":
            res.conflated += m["count"]


async def _run_clients(
    port: int, n: int, per: int, seconds: float, universe: list[str], res: FanoutResult
) -> None:
    url = f"ws://127.0.0.1:{port}/ws/stocks?batch=1"
    rnd = random.Random(1)
    tasks = []
    for _ in range(n):
        syms = rnd.sample(universe, per)
        tasks.append(asyncio.create_task(_client(url, syms, res, 0.05)))
        await asyncio.sleep(0.002)  # do not storm the accept queue
    await asyncio.sleep(2)  # warm-up: every client subscribed
    res.received = res.conflated = 0
    res.latencies_ms.clear()
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    res.seconds = time.perf_counter() - t0
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def run(clients: int, per: int, rate: float, seconds: float) -> FanoutResult:
    port = _free_port()
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aegis.bench.fanout_server",
                "--port",
                str(port),
                "--rate",
                str(rate),
                "--data-dir",
                d,
            ],
            env={**os.environ, "AEGIS_LOG_LEVEL": "WARNING"},
        )
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            quotes = httpx.get(f"http://127.0.0.1:{port}/api/v1/quotes", timeout=30).json()
            universe = [q["symbol"] for q in quotes["data"]]
            # clients watch symbols that trade, as users do
            res = FanoutResult(clients, per, rate, seconds, 0, 0, 0)
            asyncio.run(_run_clients(port, clients, per, seconds, universe, res))
            st = httpx.get(f"http://127.0.0.1:{port}/api/v1/system/status", timeout=10).json()
            res.server_ticks = int(st["data"]["ingest"]["accepted"])
            res.server_rss_mb = rss_mb(proc.pid)
            return res
        finally:
            proc.terminate()
            proc.wait(20)
