"""``aegis bench trading``: order → paper fill latency with the tape at a given trade rate, and
backtest speed over minute candles. Data here is simulated (a random walk), labelled as such.

Latency is measured two ways in one run:
- **match → fill stored**: from a trade batch reaching the trading service to the fill being
  committed to the event log (what the order path itself costs);
- **order → fill**: from ``place()`` to the fill, which also waits for the symbol's next trade
  (with ``rate`` trades/s over ``symbols`` symbols that wait dominates).
Both are measured for the event log as it is (group commit written by its own SQLite thread:
one hand-off there and back per transaction, WAL checkpoints beside it) and, in the same run
and interleaved round by round, as it was (group commit through aiosqlite: a round trip per
statement, plus the pool's reset, and SQLite's automatic checkpoint inside a commit) — the
before/after. ``append`` times the event log's part alone. One bare SQLite commit through the
engine is the storage floor.

Where the slow fills' time went is measured, not guessed: each fill's steps (matched, append
called, handed to the writer thread, committed, back on the loop, seen by the listener), the
GC pauses inside it (``gc.callbacks``), the event loop's lag (a 1 ms ticker), and how long the
process's threads waited for a CPU (``/proc/self/task/*/schedstat``: runnable, not running,
because the machine's 2 cores were busy) beside the CPU they used.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import tempfile
import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aegis.core.timeutil import KST, to_us
from aegis.db import create_app_engine
from aegis.domain.candles import Candle
from aegis.domain.sources import SIM
from aegis.domain.ticks import Tick
from aegis.store.migrate import upgrade
from aegis.trading.eventlog import EventLog
from aegis.trading.models import OrderRequest, OrderType, Side
from aegis.trading.service import TradingService
from aegis.trading.sqlitewriter import CHECKPOINT_EVERY_COMMITS, WriteTimes
from aegis.trading.views import PriceBoard


@dataclass
class LatencyResult:
    orders: int
    rate: float
    symbols: int
    fill_p50_ms: float
    fill_p99_ms: float
    order_p50_ms: float
    order_p99_ms: float
    commit_p50_ms: float
    commit_p99_ms: float
    ticks: int
    append_p50_ms: float = 0.0
    append_p99_ms: float = 0.0
    mode: str = "writer thread"
    load: tuple[float, float] = (0.0, 0.0)  # 1-min load average at start and end
    fill_max_ms: float = 0.0
    elapsed_s: float = 0.0  # the timed part (orders), all rounds
    cpu_s: float = 0.0  # process CPU time in it
    runq_wait_s: float = 0.0  # the process's threads runnable but not running, in it
    gc: str = ""
    loop_lag: str = ""
    checkpoints: str = ""
    slow: str = ""  # where the slowest 1 % of fills spent their time
    typical: str = ""  # the same for the median fill


# a fill's steps, in order (time.perf_counter())
_STEPS = ("batch", "matched", "queued", "submitted", "began", "committed", "resumed", "seen")
_STEP_NAMES = (
    "match",
    "to append",
    "wait for writer",
    "to SQLite thread",
    "SQLite txn",
    "back to loop",
    "to listener",
)


@dataclass
class _Samples:
    fill: list[float]
    order: list[float]
    append: list[float]
    commit: list[float]
    ticks: int
    steps: list[dict[str, float]] = field(default_factory=list)  # per fill
    gc: list[tuple[float, float, int]] = field(default_factory=list)  # start, end, generation
    lag: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0
    runq: float = 0.0
    checkpoints: list[float] = field(default_factory=list)  # seconds each, off the commit path

    def add(self, other: _Samples) -> None:
        """Another round's samples and totals into these (every field: lists extend, sums add)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _runq_and_cpu() -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) summed over this process's
    live threads; zeros where /proc has no schedstat."""
    on = wait = 0
    try:
        for t in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{t}/schedstat") as f:
                a, b, _ = f.read().split()
            on, wait = on + int(a), wait + int(b)
    except (OSError, ValueError):
        return 0.0, 0.0
    return on / 1e9, wait / 1e9


@dataclass
class BacktestResult:
    symbols: int
    candles: int
    load_seconds: float
    replay_seconds: float
    trades: int
    pandas_seconds: float | None


class _Board(PriceBoard):
    def __init__(self, symbols: list[str]) -> None:
        self.last = dict.fromkeys(symbols, 70_000)

    def last_price(self, symbol: str) -> int | None:
        return self.last.get(symbol)

    def prev_close(self, symbol: str) -> int | None:
        return 70_000 if symbol in self.last else None


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else 0.0


async def _latency(
    orders: int, rate: float, n_symbols: int, db_url: str, *, lean: bool = True
) -> _Samples:
    upgrade(db_url)
    engine = create_app_engine(db_url)
    symbols = [f"{i:06d}" for i in range(1, n_symbols + 1)]
    board = _Board(symbols)
    svc = TradingService(engine, board, known_symbol=lambda s: s in board.last)
    svc.log = EventLog(engine, sqlite_thread=lean)
    append_lat: list[float] = []
    inner = svc.log.append
    last_write: list[WriteTimes] = []
    svc.log.on_write = lambda w: last_write.append(w)
    fill_steps: dict[str, dict[str, float]] = {}  # order id → its fill's steps
    matched_at = [0.0]
    on_ticks = svc.on_ticks

    def timed_on_ticks(ticks: Any) -> Any:
        out = on_ticks(ticks)
        if ticks:  # not the service's once-a-second expiry check (an empty batch)
            matched_at[0] = time.perf_counter()
        return out

    svc.on_ticks = timed_on_ticks  # type: ignore[method-assign]

    async def timed_append(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        matched = matched_at[0]  # read before the commit, not after it
        last_write.clear()
        try:
            return await inner(*args, **kwargs)
        finally:
            append_lat.append(time.perf_counter() - t0)
            fill = args[2] if len(args) > 2 else kwargs.get("fill")
            if fill is not None:
                steps = {"matched": matched, "queued": t0}
                if last_write:  # the writer thread's steps (not on the aiosqlite path)
                    w = last_write[-1]
                    steps |= {
                        "submitted": w.submitted,
                        "began": w.began,
                        "committed": w.committed,
                        "resumed": w.resumed,
                    }
                fill_steps[fill.order_id] = steps

    svc.log.append = timed_append  # type: ignore[method-assign]
    await svc.start()
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO users (id, email, username, password_hash, is_admin, created_at) "
                "VALUES (1, 'bench@example.com', 'bench', 'x', false, CURRENT_TIMESTAMP)"
            )
        )
    acc = await svc.account_for(1)
    acc.cash = 10**15  # the bench buys many times; cash is not what is measured
    listener = svc.feed.listen(1)
    rng = random.Random(7)
    clock = to_us(datetime(2026, 3, 2, 10, 0, tzinfo=KST))
    svc.paper.clock = clock
    batch_every = 0.005
    per_batch = max(1, int(rate * batch_every))
    fill_lat: list[float] = []
    seq = 0
    ticks = 0
    stop = asyncio.Event()
    batch_started: dict[int, float] = {}

    async def tape() -> None:
        nonlocal seq, clock, ticks
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop.is_set():
            batch = []
            for _ in range(per_batch):
                seq += 1
                clock += int(1_000_000 / rate)
                sym = symbols[rng.randrange(n_symbols)]
                batch.append(Tick(sym, clock, 70_000, 10, 0, seq, "sim"))
            t0 = time.perf_counter()
            for t in batch:
                batch_started[t.seq] = t0
            await svc.apply_tape(batch)
            ticks += len(batch)
            next_at += batch_every
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    lags: list[float] = []

    async def ticker() -> None:
        # the event loop's lag: how late a 1 ms sleep wakes up
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - t - 0.001)

    gcs: list[tuple[float, float, int]] = []
    gc_start = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_start[0] = time.perf_counter()
        else:
            gcs.append((gc_start[0], time.perf_counter(), int(info["generation"])))

    runner = asyncio.create_task(tape())
    lag_task = asyncio.create_task(ticker())
    gc.callbacks.append(on_gc)
    _, wait0 = _runq_and_cpu()
    cpu0 = time.process_time()  # all threads, ns resolution (os.times ticks at 10 ms)
    started = time.perf_counter()
    order_lat: list[float] = []
    steps: list[dict[str, float]] = []
    for i in range(orders):
        t0 = time.perf_counter()
        sym = symbols[i % n_symbols]
        o, _ = await svc.place(
            acc, OrderRequest(sym, Side.BUY, OrderType.MARKET, 1, None, f"bench-{i}")
        )
        while True:
            msg = await listener.queue.get()
            if msg.get("type") == "fill" and msg.get("orderId") == o.order_id:
                break
        t1 = time.perf_counter()
        order_lat.append(t1 - t0)
        # the batch that filled it started being matched at batch_started[...]
        fill_seq = max(batch_started) if batch_started else 0
        fill_lat.append(t1 - batch_started.get(fill_seq, t1))
        steps.append(
            {"batch": batch_started.get(fill_seq, t1), **fill_steps.pop(o.order_id, {}), "seen": t1}
        )
        batch_started.clear()
    elapsed = time.perf_counter() - started
    cpu1 = time.process_time()
    _, wait1 = _runq_and_cpu()
    gc.callbacks.remove(on_gc)
    stop.set()
    await runner
    await lag_task
    await svc.close()
    ckpts = svc.log.checkpoint_seconds
    commits: list[float] = []
    async with engine.connect() as conn:
        await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_floor (x TEXT)"))
        await conn.commit()
    for _ in range(200):
        t0 = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO bench_floor VALUES ('x')"))
        commits.append(time.perf_counter() - t0)
    await engine.dispose()
    return _Samples(
        fill_lat,
        order_lat,
        append_lat,
        commits,
        ticks,
        steps,
        gcs,
        lags,
        elapsed,
        cpu1 - cpu0,
        wait1 - wait0,
        ckpts,
    )


def _breakdown(s: _Samples, slow: bool) -> str:
    """Mean milliseconds per step of the slowest 1 % of fills (``slow``) or of the median
    fill, and the GC pause inside those fills."""
    if not s.steps:
        return ""
    order = sorted(range(len(s.fill)), key=s.fill.__getitem__)
    if slow:
        picked = order[min(len(order) - 1, int(len(order) * 0.99)) :]
    else:
        picked = [order[len(order) // 2]]
    parts = []
    for a, b, name in zip(_STEPS, _STEPS[1:], _STEP_NAMES, strict=False):
        xs = [s.steps[i][b] - s.steps[i][a] for i in picked if a in s.steps[i] and b in s.steps[i]]
        if xs:
            parts.append(f"{name} {sum(xs) / len(xs) * 1000:.2f}")
    if "submitted" not in s.steps[picked[0]]:  # the aiosqlite path: no thread steps
        xs = [s.steps[i]["seen"] - s.steps[i]["queued"] for i in picked if "queued" in s.steps[i]]
        if xs:
            parts.insert(2, f"append → listener {sum(xs) / len(xs) * 1000:.2f}")
    paused = [
        sum(max(0.0, min(e, s.steps[i]["seen"]) - max(b, s.steps[i]["batch"])) for b, e, _ in s.gc)
        for i in picked
    ]
    parts.append(f"(GC inside {sum(paused) / len(paused) * 1000:.2f})")
    return f"{len(picked)} fills, mean ms: " + ", ".join(parts)


def _checkpoint_summary(s: _Samples, mode: str) -> str:
    if mode != "writer thread":
        return "inside commits (SQLite's automatic checkpoint)"
    if not s.checkpoints:
        return f"none yet (one per {CHECKPOINT_EVERY_COMMITS} commits)"
    return (
        f"{len(s.checkpoints)} on the checkpoint thread, p50 "
        f"{_pct(s.checkpoints, 0.5):.2f} ms, max {max(s.checkpoints) * 1000:.2f} ms"
    )


def _gc_summary(s: _Samples) -> str:
    by_gen = [sum(1 for *_, g in s.gc if g == n) for n in (0, 1, 2)]
    pauses = [e - b for b, e, _ in s.gc]
    return (
        f"{len(pauses)} collections (gen0/1/2: {by_gen[0]}/{by_gen[1]}/{by_gen[2]}), "
        f"total {sum(pauses) * 1000:.1f} ms, max {max(pauses, default=0) * 1000:.2f} ms"
    )


def run_latency_pair(
    orders: int = 500, rate: float = 5_000, symbols: int = 10, rounds: int = 4
) -> tuple[LatencyResult, LatencyResult]:
    """(as it was, as it is): ``rounds`` alternating rounds of each, ``orders`` per mode in
    all, so that both see the same machine load."""
    merged = {m: _Samples([], [], [], [], 0) for m in (False, True)}
    load0 = os.getloadavg()[0]
    per_round = max(1, orders // rounds)
    for i in range(rounds * 2):
        lean = i % 2 == 1
        with tempfile.TemporaryDirectory() as d:
            url = f"sqlite:///{Path(d) / 'app.db'}"
            got = asyncio.run(_latency(per_round, rate, symbols, url, lean=lean))
        merged[lean].add(got)
    load = (load0, os.getloadavg()[0])
    before, after = (
        _result(merged[lean], rate, symbols, name, load)
        for lean, name in ((False, "aiosqlite (before)"), (True, "writer thread"))
    )
    return before, after


def _result(
    s: _Samples, rate: float, symbols: int, mode: str, load: tuple[float, float]
) -> LatencyResult:
    return LatencyResult(
        len(s.order),
        rate,
        symbols,
        _pct(s.fill, 0.5),
        _pct(s.fill, 0.99),
        _pct(s.order, 0.5),
        _pct(s.order, 0.99),
        _pct(s.commit, 0.5),
        _pct(s.commit, 0.99),
        s.ticks,
        _pct(s.append, 0.5),
        _pct(s.append, 0.99),
        mode,
        load,
        max(s.fill, default=0.0) * 1000,
        s.elapsed,
        s.cpu,
        s.runq,
        _gc_summary(s),
        f"p50 {_pct(s.lag, 0.5):.2f} ms, p99 {_pct(s.lag, 0.99):.2f} ms, "
        f"max {max(s.lag, default=0.0) * 1000:.2f} ms",
        _checkpoint_summary(s, mode),
        _breakdown(s, slow=True),
        _breakdown(s, slow=False),
    )


def run_latency(orders: int = 500, rate: float = 5_000, symbols: int = 10) -> LatencyResult:
    """The event log as it is, alone."""
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        got = asyncio.run(_latency(orders, rate, symbols, f"sqlite:///{Path(d) / 'app.db'}"))
    return _result(got, rate, symbols, "writer thread", (load0, os.getloadavg()[0]))


def _minute_candles(symbol: str, days: int, rng: random.Random) -> list[Candle]:
    from datetime import date, timedelta

    from aegis.core.timeutil import kst_midnight_us

    out = []
    price = 50_000
    day = date(2025, 1, 1)
    made = 0
    while made < days:
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        made += 1
        start = kst_midnight_us(day) + 9 * 3_600_000_000
        for m in range(390):
            o = price
            price = max(1_000, price + rng.choice((-100, -50, 0, 50, 100)))
            hi, lo = max(o, price) + 50, min(o, price) - 50
            t = start + m * 60_000_000
            out.append(
                Candle(symbol, "1m", t, o, hi, lo, price, 100, 100 * price, 1, t, 0, t, 0, SIM)
            )
    return out


async def _backtest(symbols: int, days: int, pandas: bool, dirpath: Path) -> BacktestResult:
    from aegis.store.sqlite import SQLiteStore
    from aegis.trading.backtest.engine import Backtest
    from aegis.trading.backtest.runner import load_bars
    from aegis.trading.strategies.builtin import MovingAverageCross

    db = dirpath / "store.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    rng = random.Random(3)
    names = [f"{i:06d}" for i in range(1, symbols + 1)]
    series_c = {s: _minute_candles(s, days, rng) for s in names}
    for cs in series_c.values():
        await store.upsert_candles(cs)
    start = min(c.start for cs in series_c.values() for c in cs)
    end = max(c.start for cs in series_c.values() for c in cs) + 60_000_000
    t0 = time.perf_counter()
    series = {s: await load_bars(store, s, "1m", start, end) for s in names}
    t1 = time.perf_counter()
    bt = Backtest(MovingAverageCross(fast=20, slow=60), names)
    bt.run(series)
    t2 = time.perf_counter()
    await store.close()
    pandas_s = None
    if pandas:
        import pandas as pd

        t3 = time.perf_counter()
        for bars in series.values():
            close = pd.Series([b.close for b in bars])
            fast, slow = close.rolling(20).mean(), close.rolling(60).mean()
            above = fast > slow
            _ = (above != above.shift()).sum()
        pandas_s = time.perf_counter() - t3
    return BacktestResult(
        symbols,
        sum(len(v) for v in series.values()),
        t1 - t0,
        t2 - t1,
        bt.report({})["trades"],
        pandas_s,
    )


def run_backtest(symbols: int = 10, days: int = 250, pandas: bool = True) -> BacktestResult:
    with tempfile.TemporaryDirectory() as d:
        return asyncio.run(_backtest(symbols, days, pandas, Path(d)))
