"""kill -9 of ``aegis serve`` during a simulated session, restarted hours later: the restarted
process fills the time it was down (every minute has its candle), and the day closes at its
daily-chain candle, volume included, as an uninterrupted day does."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import date
from pathlib import Path

import pytest

from aegis.core.config import Settings
from aegis.core.timeutil import kst_midnight_us
from aegis.reference import load_instruments
from aegis.services.history_seed import real_anchors
from aegis.sources.sim import SimSource
from aegis.store.sqlite import SQLiteStore
from tests.multiprocess.test_crash import start_serve, wait_ready
from tests.multiprocess.test_failover import kill9
from tests.multiprocess.test_server_mode import SYMBOLS
from tests.support.clock import faketime_env, kst
from tests.support.services import free_port
from tests.support.sim_day import assert_day_at_chain_candle

DAY = date(2026, 11, 20)  # a Friday: the wall clocks below are on it
MIN = 60_000_000
# the real clock's pace and a thin market: the restart catches up hours of it at once
THIN = {"AEGIS_SIM_SPEED": "1", "AEGIS_SIM_TICK_RATE": "5"}


def newest(db: Path, sql: str, *args: object) -> int | None:
    """One value read from the running server's SQLite file (WAL: readers do not block)."""
    if not db.exists():
        return None
    with sqlite3.connect(db, timeout=30) as conn:
        row = conn.execute(sql, args).fetchone()
    conn.close()
    return None if row is None or row[0] is None else int(row[0])


def wait_for(db: Path, until_us: int, timeout_s: float) -> None:
    """Until 005930's newest stored trade in a candle is at or after ``until_us``."""
    deadline = time.monotonic() + timeout_s
    sql = "SELECT MAX(last_ts) FROM candles WHERE symbol=? AND interval='1d'"
    while (last := newest(db, sql, SYMBOLS[0])) is None or last < until_us:
        assert time.monotonic() < deadline, f"005930 stored to {last}, {until_us} awaited"
        time.sleep(0.2)


@pytest.mark.slow
async def test_a_sim_killed_in_the_session_fills_its_downtime_and_closes_at_its_chain_candle(
    tmp_path: Path,
) -> None:
    port = free_port()
    midnight = kst_midnight_us(DAY)
    db = tmp_path / "var" / "aegis-sim.db"
    first = start_serve(tmp_path, port, "serve-1", faketime_env(kst(DAY, 11, 0)), **THIN)
    try:
        await asyncio.to_thread(wait_ready, first, port)
        await asyncio.to_thread(wait_for, db, midnight + (11 * 60 + 1) * MIN, 180)
        kill9(first)
    finally:
        first.stop()
    down_from = newest(db, "SELECT MAX(last_ts) FROM candles WHERE interval='1d'")
    assert down_from is not None

    close = midnight + (15 * 60 + 30) * MIN
    second = start_serve(tmp_path, port, "serve-2", faketime_env(kst(DAY, 15, 29)), **THIN)
    try:
        await asyncio.to_thread(wait_ready, second, port)
        await asyncio.to_thread(wait_for, db, close, 240)  # the close plays on the real clock
    finally:
        second.stop()  # SIGTERM: flushes and closes

    store = SQLiteStore(db)
    await store.start()
    try:
        source = SimSource(Settings(), load_instruments())
        source.use_anchors(await real_anchors(store, list(SYMBOLS)))
        await assert_day_at_chain_candle(store, source, SYMBOLS, DAY)
    finally:
        await store.close()
