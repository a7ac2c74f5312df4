"""``aegis bench fanout``: N WebSocket clients × S symbols against a market at R ticks/s.

Each client counts the ticks it receives and the conflation notices, and measures latency from
the tick's timestamp (the paced source stamps ticks with the wall clock) to its arrival. The
clients run in several processes (one Python process cannot read 10,000 sockets at market rate),
all on this machine beside the server. Server memory per connection is the growth of the
server's RSS from before the clients connected to when all were connected and subscribed,
divided by the clients; server CPU per delivered tick is read from ``/proc``."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from aegis.bench.paced import traded_symbols
from aegis.bench.rss import cpu_seconds, rss_mb
from aegis.reference import load_instruments

SAMPLE = 0.05  # share of ticks whose latency is recorded
CONNECTS_PER_SECOND = 500  # per client process: do not storm the accept queue
# Handshakes under way at once per client process. Unbounded (one task per client started at
# CONNECTS_PER_SECOND), 10,000 clients overflowed the server's accept queue while it was busy
# delivering to those already connected: SYNs retried after 1, 3, 7 … s, handshakes timed out,
# and the connect phase waited for clients that had failed (docs/benchmarks.md, session 7).
CONNECTING = 64
CONNECT_TRIES = 3
OPEN_TIMEOUT = 60.0


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
    server_rss_base_mb: float | None = None  # before the clients connected
    server_rss_connected_mb: float | None = None  # once all were connected and subscribed
    server_ticks: int = 0
    connected: int = 0
    failed: int = 0  # clients that could not connect in CONNECT_TRIES attempts
    connect_s: float = 0.0  # how long connecting every client took
    compression: bool = False
    connect_rate: float | None = None  # the market's rate while the clients connected
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at start and end
    server_cpu_s: float | None = None  # CPU the server used in the measured window
    universe: int = 0  # symbols the clients drew their subscriptions from
    frames: int = 0  # WebSocket messages the clients received in the window (one per batch)
    market_ticks: int | None = None  # ticks the server ingested in the measured window

    def cpu_us_per_tick(self) -> float | None:
        """Server CPU per delivered tick: a cost that a busy machine changes far less than it
        changes latency."""
        if self.server_cpu_s is None or not self.received:
            return None
        return self.server_cpu_s * 1e6 / self.received

    def cpu_us_per_market_tick(self) -> float | None:
        """Server CPU per tick of the market in the window: ingest and every delivery of it."""
        if self.server_cpu_s is None or not self.market_ticks:
            return None
        return self.server_cpu_s * 1e6 / self.market_ticks

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]

    def kb_per_connection(self) -> float | None:
        """What connecting and subscribing the clients added to the server's RSS, per client
        (the market keeps running meanwhile, so this errs on the high side)."""
        after, before = self.server_rss_connected_mb, self.server_rss_base_mb
        if after is None or before is None or not self.clients:
            return None
        return (after - before) * 1024 / self.clients


@dataclass
class _Counts:
    received: int = 0
    conflated: int = 0
    closed_slow: int = 0
    connected: int = 0
    failed: int = 0
    frames: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    measuring: bool = False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def _open(url: str, gate: asyncio.Semaphore, res: _Counts) -> ClientConnection | None:
    """A connection, with at most ``CONNECTING`` handshakes of this process under way at once,
    retried; None (counted as failed) after ``CONNECT_TRIES`` attempts."""
    for attempt in range(CONNECT_TRIES):
        async with gate:
            try:
                # offers deflate, as browsers do
                return await websockets.connect(
                    url, max_queue=None, ping_interval=None, open_timeout=OPEN_TIMEOUT
                )
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                pass
        await asyncio.sleep(1 + attempt)
    res.failed += 1
    return None


async def _client(
    url: str, symbols: list[str], res: _Counts, rnd: random.Random, gate: asyncio.Semaphore
) -> None:
    conn = await _open(url, gate, res)
    if conn is None:
        return
    async with conn as ws:
        await ws.send(orjson.dumps({"action": "subscribe", "symbols": symbols}).decode())
        res.connected += 1
        try:
            async for raw in ws:
                if res.measuring:
                    _count(raw, res, rnd)
        except websockets.ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == 4008:
                res.closed_slow += 1


def _count(raw: str | bytes, res: _Counts, rnd: random.Random) -> None:
    now = time.time()
    res.frames += 1
    msgs = orjson.loads(raw)
    for m in msgs if isinstance(msgs, list) else (msgs,):
        kind = m.get("type")
        if kind == "tick":
            res.received += 1
            if rnd.random() < SAMPLE:
                res.latencies_ms.append((now - _ts(m["timestamp"])) * 1000)
        elif kind == "conflated":
            res.conflated += m["count"]


async def _clients(
    port: int,
    symbol_sets: list[list[str]],
    seconds: float,
    ready: Queue[int],
    go: Event,
    seed: int,
) -> _Counts:
    url = f"ws://127.0.0.1:{port}/ws/stocks?batch=1"
    res = _Counts()
    rnd = random.Random(seed)
    tasks = []
    gate = asyncio.Semaphore(CONNECTING)
    for syms in symbol_sets:
        tasks.append(asyncio.create_task(_client(url, syms, res, rnd, gate)))
        await asyncio.sleep(1 / CONNECTS_PER_SECOND)
    # every client connected or given up on (a client that failed must not hold the phase)
    while res.connected + res.failed < len(symbol_sets) and not all(t.done() for t in tasks):  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # a count many tasks raise: polled
    ready.put(res.connected)
    while not go.is_set():  # noqa: ASYNC110  # another process's event: polled
        await asyncio.sleep(0.02)  # every process connected: measure together
    await asyncio.sleep(2)  # warm-up: every client subscribed and reading
    res.measuring = True
    await asyncio.sleep(seconds)
    res.measuring = False
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return res


def _client_process(
    port: int,
    symbol_sets: list[list[str]],
    seconds: float,
    ready: Queue[int],
    go: Event,
    out: Queue[tuple[int, int, int, int, int, int, list[float]]],
    seed: int,
) -> None:
    res = asyncio.run(_clients(port, symbol_sets, seconds, ready, go, seed))
    out.put(
        (
            res.received,
            res.conflated,
            res.closed_slow,
            res.connected,
            res.failed,
            res.frames,
            res.latencies_ms,
        )
    )


def _wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the bench server exited while starting")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("the bench server did not start in 300 s")


def run(
    clients: int,
    per: int,
    rate: float,
    seconds: float,
    procs: int | None = None,
    compression: bool = False,
    universe_size: int | None = None,
    connect_rate: float | None = None,
) -> FanoutResult:
    """The market trades the whole listing at ``rate`` (as the simulator does); each client
    watches ``per`` symbols drawn uniformly from the symbols that market trades, or from its
    ``universe_size`` most traded ones (small runs: enough deliveries to measure). With
    ``connect_rate`` the market runs at that rate while the clients connect, and at ``rate``
    from when all are connected (the measured window starts after the warm-up): at 10,000
    clients the full rate saturated the server with deliveries to the first few thousand, and
    the rest could not get their handshakes in (docs/benchmarks.md, session 7)."""
    port = _free_port()
    # clients watch symbols that trade, as users do (a symbol that never trades measures nothing)
    universe = traded_symbols(load_instruments(), universe_size)
    procs = procs or max(1, min(8, (clients + 1999) // 2000))
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        env = {
            **os.environ,
            "AEGIS_LOG_LEVEL": "WARNING",
            "AEGIS_WS_COMPRESSION": "true" if compression else "false",
        }
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
                *(["--connect-rate", str(connect_rate)] if connect_rate else []),
            ],
            env=env,
        )
        try:
            _wait_healthy(port, proc)
            rnd = random.Random(1)
            sets = [rnd.sample(universe, per) for _ in range(clients)]
            res = FanoutResult(clients, per, rate, seconds, 0, 0, 0, compression=compression)
            res.connect_rate = connect_rate
            res.universe = len(universe)
            time.sleep(1)  # the market runs: the server's own state is built
            res.server_rss_base_mb = rss_mb(proc.pid)
            _drive(port, sets, seconds, procs, res, proc.pid)
            res.server_ticks = _accepted(port)
            res.server_rss_mb = rss_mb(proc.pid)
            res.load = (load_start, os.getloadavg()[0])
            return res
        finally:
            proc.terminate()
            proc.wait(30)


def _accepted(port: int) -> int:
    """Ticks the server has ingested so far (its status endpoint)."""
    st = httpx.get(f"http://127.0.0.1:{port}/api/v1/system/status", timeout=60).json()
    return int(st["data"]["ingest"]["accepted"])


def _drive(
    port: int, sets: list[list[str]], seconds: float, procs: int, res: FanoutResult, pid: int
) -> None:
    ctx = mp.get_context("spawn")
    ready: Queue[int] = ctx.Queue()
    out: Queue[tuple[int, int, int, int, int, int, list[float]]] = ctx.Queue()
    go = ctx.Event()
    workers = [
        ctx.Process(
            target=_client_process,
            args=(port, sets[i::procs], seconds, ready, go, out, i),
            daemon=True,
        )
        for i in range(procs)
    ]
    started = time.monotonic()
    for w in workers:
        w.start()
    try:
        for _ in workers:
            ready.get(timeout=1800)
        res.connect_s = time.monotonic() - started
        res.server_rss_connected_mb = rss_mb(pid)
        os.kill(pid, signal.SIGUSR1)  # the server's market to the measured rate (if not there)
        go.set()
        time.sleep(2)  # the clients' warm-up
        ticks0 = _accepted(port)
        cpu0 = cpu_seconds(pid)
        time.sleep(seconds)
        cpu1 = cpu_seconds(pid)
        ticks1 = _accepted(port)
        if cpu0 is not None and cpu1 is not None:
            res.server_cpu_s = cpu1 - cpu0
        res.market_ticks = ticks1 - ticks0
        for _ in workers:
            received, conflated, slow, connected, failed, frames, lat = out.get(
                timeout=seconds + 600
            )
            res.failed += failed
            res.frames += frames
            res.received += received
            res.conflated += conflated
            res.closed_slow += slow
            res.connected += connected
            res.latencies_ms.extend(lat)
    finally:
        for w in workers:
            w.join(30)
            if w.is_alive():
                w.kill()
