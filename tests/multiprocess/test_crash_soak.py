"""Crash soak (issue 11 item 5): `aegis serve` on the (fake) KIS stream is killed with SIGKILL
again and again while the market trades; each new process resumes from the store (the journal
for what was accepted, the broker's REST history for what was missed while no process ran).
At the end the stored ticks equal the ticks the market made, none twice, and every stored
candle equals the candle a fault-free run computes from those ticks.

`AEGIS_CRASH_SOAK_KILLS` (default 3) sets the number of kills and `AEGIS_CRASH_SOAK_SECONDS` the
span they are spread over; the issue's full run is `AEGIS_CRASH_SOAK_KILLS=20
AEGIS_CRASH_SOAK_SECONDS=600` (figures in docs/benchmarks.md).

A restarted process resumes only from trades of its own KST day, so the run must not cross
midnight. Rather than wait for midnight (up to half an hour at 23:30 KST), every `aegis serve`
runs under libfaketime (`tests.support.clock`) with its wall clock shifted to 10:00 KST of
today's date, the hour the fake market trades at; only the processes' wall clock moves, their
monotonic clock does not."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from aegis.aggregator.engine import Aggregator
from aegis.domain.candles import Candle
from tests.fakes import kis as fake_kis_mod
from tests.fakes.kis import FakeKis
from tests.fakes.market import FakeMarket
from tests.multiprocess.test_failover import kill9
from tests.multiprocess.test_server_mode import Proc, aegis_command
from tests.sources.conftest import expected_ticks
from tests.support.clock import KST, faketime_env, kst, kst_today
from tests.support.services import free_port

pytestmark = pytest.mark.slow

SYMBOLS = ("005930", "000660", "035420")
RATE = 40  # trades per wall second, one exchange second per wall second
START_S = 240.0  # a loaded machine's first start (migrations, listing) included
OPEN_HOUR = 10  # the fake market's first trade, KST, and the serve processes' clock
MARKET_OPENS = f"{OPEN_HOUR:02d}0000"


def kills() -> int:
    return int(os.environ.get("AEGIS_CRASH_SOAK_KILLS", "3"))


def span_s() -> float:
    """How long the kills are spread over (0: as fast as the processes come up)."""
    return float(os.environ.get("AEGIS_CRASH_SOAK_SECONDS", "0"))


def start_serve(tmp_path: Path, fake: FakeKis, port: int, n: int, clock: dict[str, str]) -> Proc:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_")}
    # every process gets the same fixed offset, so one continuous clock runs across the kills
    env.update(clock)
    env.update(
        AEGIS_SOURCE="kis",
        AEGIS_KIS_APP_KEY=fake_kis_mod.APP_KEY,
        AEGIS_KIS_APP_SECRET=fake_kis_mod.APP_SECRET,
        AEGIS_KIS_REST_URL=fake.rest_url,
        AEGIS_KIS_WS_URL=fake.ws_url,
        AEGIS_KIS_SYMBOLS=",".join(SYMBOLS),
        AEGIS_DATA_DIR=str(tmp_path / "var"),
        AEGIS_PORT=str(port),
        AEGIS_RATE_LIMIT_ANON="off",
    )
    log = tmp_path / f"serve-{n}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            aegis_command("serve"), env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    return Proc(f"serve-{n}", popen, log)


async def kis_live(proc: Proc, port: int) -> None:
    """Until the process serves and its KIS source is live (connected, subscribed)."""
    deadline = time.monotonic() + START_S
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            assert proc.popen.poll() is None, proc.tail()
            try:
                doc = (await http.get(f"http://127.0.0.1:{port}/api/v1/system/status")).json()
                states = {s["name"]: s["state"] for s in doc["data"]["sources"]}
                if states.get("kis") == "live":
                    return
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            await asyncio.sleep(0.2)
    pytest.fail(f"KIS source never live\n{proc.tail()}")


Row = tuple[str, int, int, int, int]  # symbol, ts, seq, price, volume
CandleMap = dict[tuple[str, str, int], tuple[int, ...]]  # (symbol, interval, start) → OHLCV, trades


def stored(db: Path, since: int) -> tuple[list[Row], CandleMap]:
    """The ticks and the candles from ``since`` on (the seeded daily history is older)."""
    with sqlite3.connect(db) as conn:
        ticks = conn.execute(
            "SELECT symbol, ts, seq, price, volume FROM ticks ORDER BY symbol, ts, seq"
        ).fetchall()
        candles = {
            (r[0], r[1], r[2]): tuple(r[3:])
            for r in conn.execute(
                "SELECT symbol, interval, start, open, high, low, close, volume, trades "
                "FROM candles WHERE symbol IN (?, ?, ?) AND start >= ?",
                (*SYMBOLS, since),
            )
        }
    return ticks, candles


def fault_free(market: FakeMarket) -> CandleMap:
    agg = Aggregator(off_hours=frozenset(SYMBOLS))  # KRX off-hours trades are in no candle
    agg.add_fresh(sorted(expected_ticks(market), key=lambda t: (t.ts, t.seq)))
    out: CandleMap = {}
    c: Candle
    for c in agg.take_dirty():
        out[(c.symbol, c.interval, c.start)] = (c.open, c.high, c.low, c.close, c.volume, c.trades)
    return out


async def test_kill_9_again_and_again_loses_and_doubles_nothing(tmp_path: Path) -> None:
    today = kst_today()
    day = today.strftime("%Y%m%d")
    clock = faketime_env(kst(today, OPEN_HOUR))
    market = FakeMarket(SYMBOLS, rate=RATE, trades_per_vsecond=RATE, start=MARKET_OPENS, day=day)
    fake = FakeKis(market, ping_interval_s=1.0)
    await fake.start()
    port = free_port()
    rng = random.Random(11)
    procs: list[Proc] = []
    try:
        proc = start_serve(tmp_path, fake, port, 0, clock)
        procs.append(proc)
        await kis_live(proc, port)
        market.start()
        started = time.monotonic()
        for n in range(1, kills() + 1):
            # ingesting, mid-flush or mid-fill: a random moment, the kills spread over the span
            left = span_s() - (time.monotonic() - started)
            every = max(1.0, left / (kills() - n + 1))
            await asyncio.sleep(rng.uniform(0.25, 1.75) * every if span_s() else rng.uniform(1, 8))
            kill9(proc)
            await asyncio.sleep(rng.uniform(0.0, 2.0))  # nobody listens for a while
            proc = start_serve(tmp_path, fake, port, n, clock)
            procs.append(proc)
            await kis_live(proc, port)
        await asyncio.sleep(3.0)
        await market.stop()  # the market closes; the last process fills what is left
        total = market.count
        db = tmp_path / "var" / "aegis.db"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as conn:
                n_stored = conn.execute("SELECT count(*) FROM ticks").fetchone()[0]
            if n_stored >= total:
                break
            await asyncio.sleep(0.5)
        proc.stop()  # SIGTERM: the last candles are flushed
        elapsed = time.monotonic() - started
    finally:
        for p in procs:
            p.stop()
        await fake.stop()

    day_start = int((datetime.strptime(market.day, "%Y%m%d") - KST).replace(tzinfo=UTC).timestamp())
    ticks, candles = stored(db, day_start * 1_000_000)
    want = sorted((t.symbol, t.ts, t.seq, t.price, t.volume) for t in expected_ticks(market))
    print(f"{kills()} kills over {elapsed:.0f} s: market made {total} trades, {len(ticks)} stored")
    assert len(ticks) == len(set((t[0], t[1], t[2]) for t in ticks)), "a tick stored twice"
    assert ticks == want, "\n".join(p.tail(15) for p in procs[-2:])
    assert candles == fault_free(market)
