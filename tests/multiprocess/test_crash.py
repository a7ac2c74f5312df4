"""kill -9 of the ingesting process (embedded mode): every tick a client was shown is in the
store after the restart, none twice, and the daily candle equals the stored ticks."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import Mapping
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from aegis.core.timeutil import iso_z
from tests.multiprocess.test_failover import kill9
from tests.multiprocess.test_server_mode import SYMBOLS, Proc, aegis_command, collect, sim_env
from tests.support.clock import after_close_env
from tests.support.services import free_port

START_S = 180.0


def start_serve(
    tmp_path: Path, port: int, name: str, clock: Mapping[str, str], **settings: str
) -> Proc:
    env = sim_env(
        clock,
        AEGIS_DATA_DIR=str(tmp_path / "var"),
        AEGIS_PORT=str(port),
        # the test proves durability, not conflation: a queue no busy machine can fill
        AEGIS_WS_QUEUE_SIZE="1000000",
    )
    env.update(settings)  # over sim_env's
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            aegis_command("serve"), env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    return Proc(name, popen, log)


def wait_ready(proc: Proc, port: int) -> None:
    import time

    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert proc.popen.poll() is None, proc.tail()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"not healthy\n{proc.tail()}")


@pytest.mark.slow
async def test_ticks_shown_before_a_kill_9_are_stored_after_restart(tmp_path: Path) -> None:
    port = free_port()
    clock = after_close_env()  # one for both: the second resumes the first's session
    first = start_serve(tmp_path, port, "serve-1", clock)
    try:
        await asyncio.to_thread(wait_ready, first, port)
        async with connect(f"ws://127.0.0.1:{port}/ws/stocks?batch=1", max_size=None) as ws:
            await ws.send(orjson.dumps({"action": "subscribe", "symbols": SYMBOLS}).decode())
            seen = await collect(ws, 6.0)  # the kill lands while ticks are still pending
            kill9(first)
    finally:
        first.stop()
    assert seen, f"no ticks\n{first.tail()}"

    second = start_serve(tmp_path, port, "serve-2", clock)
    try:
        await asyncio.to_thread(wait_ready, second, port)
    finally:
        second.stop()  # SIGTERM: flushes and closes

    db = tmp_path / "var" / "aegis-sim.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT symbol, ts, price, volume FROM ticks WHERE symbol IN (?, ?)", SYMBOLS
        ).fetchall()
    conn.close()
    stored = {(s, iso_z(ts), p, v) for s, ts, p, v in rows}
    missing = [k for k in seen if k not in stored]
    print(f"client saw {len(seen)} ticks; {len(missing)} missing after kill -9 and restart")
    assert missing == [], f"{len(missing)} shown ticks not stored, e.g. {missing[:3]}"
