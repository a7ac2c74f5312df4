"""``aegis serve --no-ingest --workers 2`` beside one ``aegis ingest`` on a real PostgreSQL and
Redis: two API processes accept on one port, and every client, whichever process took it,
receives every tick the ingester stored."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.multiprocess.test_server_mode import (
    COLLECT_S,
    SYMBOLS,
    Cluster,
    Proc,
    aegis_command,
    collect,
    poll,
    sim_env,
    subscribed_client,
    wait_healthy,
)
from tests.support.auth import SERVER_AUTH_SECRET
from tests.support.clock import after_close_env
from tests.support.services import free_port
from tests.support.windows import inside, listened, stored_inside

pytestmark = pytest.mark.services
CLIENTS = 6


@pytest.fixture
def workers_cluster(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    clock = after_close_env()
    env = sim_env(
        clock,
        AEGIS_DATABASE_URL=postgres_url,
        AEGIS_REDIS_URL=redis_url,
        AEGIS_AUTH_SECRET=SERVER_AUTH_SECRET,
        AEGIS_DATA_DIR=str(tmp_path / "var"),
        AEGIS_LOG_LEVEL="INFO",
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
        port = free_port()
        serve = start(
            "serve-workers", "serve", "--no-ingest", "--workers", "2", "--port", str(port)
        )
        made = Cluster(postgres_url, ingester, [(serve, port)], clock)
        wait_healthy(serve, port, made)
        yield made
    finally:
        for proc in reversed(procs):
            proc.stop()


def worker_processes(proc: Proc) -> list[psutil.Process]:
    """uvicorn's worker processes under the ``serve`` command (spawned by multiprocessing; not
    its resource tracker)."""
    family = psutil.Process(proc.popen.pid).children(recursive=True)
    return [p for p in family if "spawn_main" in " ".join(p.cmdline())]


async def test_two_workers_serve_one_port_and_every_client_gets_every_stored_tick(
    workers_cluster: Cluster,
) -> None:
    cluster = workers_cluster
    (serve, port) = cluster.servers[0]
    assert len(worker_processes(serve)) == 2, cluster.logs()
    await poll("SELECT count(*) FROM ticks", until=lambda n: n > 0, cluster=cluster)
    clients = [await subscribed_client(port) for _ in range(CLIENTS)]
    try:
        seen = await asyncio.gather(*(collect(ws, COLLECT_S) for ws in clients))
    finally:
        for ws in clients:
            await ws.close()
    assert all(seen), f"a client got no ticks\n{cluster.logs()}"
    windows = listened(seen, SYMBOLS)
    _, hi = windows[SYMBOLS[0]]
    await poll(
        "SELECT coalesce(max(ts), 0) FROM ticks WHERE symbol = ANY($1)",
        SYMBOLS,
        until=lambda v: v >= hi * 1000,
        cluster=cluster,
    )
    stored = await stored_inside(cluster.database_url, windows)
    assert sum(stored.values()) > 0, f"no ticks stored inside the window\n{cluster.logs()}"
    for s in seen:
        assert inside(s, windows) == stored
