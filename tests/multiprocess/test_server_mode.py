"""Server mode with real processes: one ``aegis ingest`` and two ``aegis serve --no-ingest``
sharing a real PostgreSQL and a real Redis.

Proves that only the ingester writes ticks, and that each API process delivers to its own
WebSocket clients every tick the ingester stored, no more and no fewer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect

from aegis.sources.sim.engine import SEQ_PER_CHUNK
from tests.support.auth import SERVER_AUTH_SECRET
from tests.support.clock import after_close_env
from tests.support.services import free_port
from tests.support.windows import TickKey, inside, listened, stored_inside

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ["005930", "000660"]
START_TIMEOUT_S = 240.0  # first start migrates and loads the KRX listing into PostgreSQL
COLLECT_S = 4.0  # how long each client listens; the assertions do not depend on it
WAIT_S = 120.0  # generous: the ingester seeds daily history before its first tick


def aegis_command(*args: str) -> list[str]:
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "run", "--no-sync", "--project", str(ROOT), "aegis", *args]
    return [str(Path(sys.executable).with_name("aegis")), *args]


def sim_env(clock: Mapping[str, str], **settings: str) -> dict[str, str]:
    """The environment of an ``aegis`` process with the simulator at 10x on ``SYMBOLS``: none of
    the caller's AEGIS_ settings, ``settings``, and the wall clock ``clock`` (one per test, from
    ``after_close_env``: the session plays from its open for the whole test, whatever the hour;
    on the real clock a process started late in the session would see it close mid-test)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_")}
    env.update(clock)
    env.update(AEGIS_SIM_SYMBOLS=",".join(SYMBOLS), AEGIS_SIM_SPEED="10", **settings)
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, n: int = 40) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-n:]
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(lines)

    def stop(self) -> None:
        """SIGTERM the process and the Python it runs under `uv run` (the wrapper may exit
        before its child), then SIGKILL whatever is left: no process outlives its test."""
        try:
            parent = psutil.Process(self.popen.pid)
            family = [*parent.children(recursive=True), parent]
        except psutil.NoSuchProcess:
            family = []
        for p in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=15)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)


@dataclass
class Cluster:
    database_url: str
    ingester: Proc
    servers: list[tuple[Proc, int]]
    clock: Mapping[str, str]  # the processes' wall clock (``sim_env``)

    def logs(self) -> str:
        return "\n".join(p.tail() for p in [self.ingester, *(s for s, _ in self.servers)])


@pytest.fixture
def cluster_redis(redis_url: str) -> str:
    """The Redis a cluster uses (a module may override it, e.g. with one it restarts)."""
    return redis_url


@pytest.fixture
def cluster(postgres_url: str, cluster_redis: str, tmp_path: Path) -> Iterator[Cluster]:
    clock = after_close_env()
    env = sim_env(
        clock,
        AEGIS_DATABASE_URL=postgres_url,
        AEGIS_REDIS_URL=cluster_redis,
        AEGIS_AUTH_SECRET=SERVER_AUTH_SECRET,
        AEGIS_DATA_DIR=str(tmp_path / "var"),
        AEGIS_LOG_LEVEL="INFO",
        # The test proves delivery, not conflation: a queue no busy CI machine can fill.
        AEGIS_WS_QUEUE_SIZE="1000000",
    )
    upgrade = subprocess.run(
        aegis_command("db", "upgrade"),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr

    procs: list[Proc] = []

    def start(name: str, *args: str) -> Proc:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                aegis_command(*args),
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc(name, popen, log)
        procs.append(proc)
        return proc

    try:
        ingester = start("ingest", "ingest")
        servers = []
        for i in (1, 2):
            port = free_port()
            servers.append((start(f"serve-{i}", "serve", "--no-ingest", "--port", str(port)), port))
        made = Cluster(postgres_url, ingester, servers, clock)
        for proc, port in servers:
            wait_healthy(proc, port, made)
        yield made
    finally:
        for proc in reversed(procs):
            proc.stop()


def wait_healthy(proc: Proc, port: int, cluster: Cluster) -> None:
    import time

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None or cluster.ingester.popen.poll() is not None:
            pytest.fail(f"a process exited while starting\n{cluster.logs()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{proc.name} not healthy on port {port}\n{cluster.logs()}")


async def poll(query: str, *args: Any, until: Any, cluster: Cluster) -> Any:
    """Re-run ``query`` until ``until(value)`` holds (bounded by WAIT_S)."""
    conn = await asyncpg.connect(cluster.database_url)
    try:
        async with asyncio.timeout(WAIT_S):
            while True:
                value = await conn.fetchval(query, *args)
                if until(value):
                    return value
                await asyncio.sleep(0.2)
    except TimeoutError:
        pytest.fail(f"gave up waiting on {query!r} (last {value!r})\n{cluster.logs()}")
    finally:
        await conn.close()


async def subscribed_client(port: int) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{port}/ws/stocks?batch=1", max_size=None)
    await ws.send(orjson.dumps({"action": "subscribe", "symbols": SYMBOLS}).decode())
    async with asyncio.timeout(WAIT_S):
        while True:
            doc = orjson.loads(await ws.recv())
            if any(
                m.get("type") == "subscribed" for m in (doc if isinstance(doc, list) else [doc])
            ):
                return ws


async def collect(
    ws: ClientConnection, seconds: float, backfilled: list[TickKey] | None = None
) -> list[TickKey]:
    """The ticks the client got in ``seconds``, live and (also into ``backfilled``) read back
    from the store after a gap on the server's bus."""
    seen: list[TickKey] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                doc = orjson.loads(await ws.recv())
                for msg in doc if isinstance(doc, list) else [doc]:  # ?batch=1 sends arrays
                    kind = msg.get("type")
                    if kind == "tick":
                        seen.append((msg["symbol"], msg["timestamp"], msg["price"], msg["volume"]))
                    elif kind == "backfill":
                        old = [
                            (t["symbol"], t["timestamp"], t["price"], t["volume"])
                            for t in msg["ticks"]
                        ]
                        seen.extend(old)
                        if backfilled is not None:
                            backfilled.extend(old)
                    elif kind in ("conflated", "error"):
                        raise AssertionError(f"client was not sent every tick: {msg}")
    except TimeoutError:
        pass
    return seen


async def test_one_ingester_writes_and_every_api_process_delivers_every_tick(
    cluster: Cluster,
) -> None:
    await poll("SELECT count(*) FROM ticks", until=lambda n: n > 0, cluster=cluster)
    clients = [await subscribed_client(port) for _, port in cluster.servers]
    try:
        seen = await asyncio.gather(*(collect(ws, COLLECT_S) for ws in clients))
    finally:
        for ws in clients:
            await ws.close()
    assert all(seen), f"a client got no ticks\n{cluster.logs()}"

    windows = listened(seen, SYMBOLS)  # the window both clients listened through
    lo, hi = windows[SYMBOLS[0]]
    seen_inside = [inside(s, windows) for s in seen]

    await poll(  # the ingester flushes in batches: wait until the window is stored
        "SELECT coalesce(max(ts), 0) FROM ticks WHERE symbol = ANY($1)",
        SYMBOLS,
        until=lambda v: v >= hi * 1000,
        cluster=cluster,
    )
    stored = await stored_inside(cluster.database_url, windows)
    conn = await asyncpg.connect(cluster.database_url)
    try:
        # A trade stored twice would show as the same print under two sequence numbers from
        # two different simulator chunks (a chunk covers its own stretch of time, and a chunk
        # emitted again repeats its own numbers, which the store ignores). Two prints with the
        # same time, price and volume inside one chunk are distinct trades (one order filling
        # two resting orders), as on KRX: they are not duplicates.
        repeated = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM ticks "
            "GROUP BY symbol, ts, price, volume, side "
            "HAVING count(DISTINCT seq / $1) > 1) d",
            SEQ_PER_CHUNK,
        )
        same_print = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM ticks GROUP BY symbol, ts, price, volume "
            "HAVING count(*) > 1) d"
        )
    finally:
        await conn.close()
    print(
        f"clients saw {[len(s) for s in seen]} ticks; {sum(stored.values())} stored in the "
        f"shared window of {hi - lo} ms; {same_print} genuine same-microsecond twin prints"
    )  # shown on failure, to judge the window

    assert sum(stored.values()) > 0, f"no ticks stored inside the window\n{cluster.logs()}"
    assert seen_inside[0] == stored
    assert seen_inside[1] == stored
    assert repeated == 0

    # Only the ingester runs sources and writes; the API processes only listen on the bus.
    async with httpx.AsyncClient() as http:
        for _, port in cluster.servers:
            status = (await http.get(f"http://127.0.0.1:{port}/api/v1/system/status")).json()
            data = status["data"]
            assert data["ingesting"] is False
            assert data["sources"] == []
            assert data["store"]["kind"] == "postgres"
            assert data["store"]["ticksWritten"] == 0
            assert data["bus"]["kind"] == "redis"
            assert data["bus"]["received"] > 0
