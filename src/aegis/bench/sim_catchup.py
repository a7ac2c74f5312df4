"""``aegis bench sim-catchup``: a simulator started in the middle of a session fills the day so
far: generated, folded and stored (every candle interval) through the ingest service into SQLite,
by the bulk path (``IngestService.bulk``) beside the live path (span by span through
``IngestService.ticks``, the crash journal and the bus to the stream hub, as in ``aegis serve``)
as the same-run baseline."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from aegis.bus.memory import MemoryBus
from aegis.core.config import Settings
from aegis.core.timeutil import KST, kst_midnight_us, to_us
from aegis.domain.instruments import Instrument
from aegis.domain.ticks import Tick
from aegis.services.ingest import IngestService
from aegis.services.journal import TickJournal
from aegis.services.market import Market
from aegis.services.stream import StreamHub
from aegis.sources.base import OrderBook
from aegis.sources.sim import SimSource
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

DAY = date(2026, 11, 20)  # a Friday


@dataclass(slots=True)
class CatchUpRun:
    mode: str
    ticks: int  # stored
    seconds: float  # from the source's start to everything stored
    cpu: float  # process CPU time (every thread) over the same span
    minutes_1m: int  # 1-minute candles of the day stored (all symbols)
    load: str = ""  # the load average when the run ended (others share the machine)

    @property
    def rate(self) -> float:
        return self.ticks / max(self.seconds, 1e-9)


class _LivePath:
    """The ingest service seen as a plain sink: the catch-up goes span by span."""

    def __init__(self, ingest: IngestService) -> None:
        self.ingest = ingest

    async def ticks(self, batch: Sequence[Tick]) -> None:
        await self.ingest.ticks(batch)

    async def book(self, book: OrderBook) -> None:
        await self.ingest.book(book)


async def _one(market: list[Instrument], seed: int, rate: float, until: str, bulk: bool,
               folder: Path) -> CatchUpRun:  # fmt: skip
    db = folder / f"{'bulk' if bulk else 'live'}.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    await store.upsert_instruments(market)
    bus = MemoryBus()
    ingest = IngestService(
        store, bus, known_symbols={i.symbol for i in market},
        journal=TickJournal(folder / f"journal-{bulk}"),
    )  # fmt: skip
    await ingest.start()
    # as in ``aegis serve``: a stream hub in the process folds what the bus carries
    live = Market(store, await store.list_instruments())
    hub = StreamHub(bus, live, resync=lambda: live.restore_live(anew=True))
    await hub.start()
    hh, mm = (int(x) for x in until.split(":"))
    wall = to_us(datetime(DAY.year, DAY.month, DAY.day, hh, mm, tzinfo=KST))
    settings = Settings(sim_seed=seed, sim_tick_rate=rate)
    source = SimSource(settings, [replace(i) for i in market], wall_clock=lambda: wall)
    t0, cpu0 = time.perf_counter(), time.process_time()
    task = asyncio.create_task(source.run(ingest if bulk else _LivePath(ingest)))
    await source.caught_up.wait()
    await ingest.flush()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await ingest.close()
    await hub.close()
    start = kst_midnight_us(DAY)
    minutes = 0
    for c in await store.latest_candles("1d"):
        if c.start == start:
            minutes += len(await store.get_candles(c.symbol, "1m", start, wall, 10_000))
    stored = store.ticks_written
    await store.close()
    return CatchUpRun("bulk" if bulk else "live path", stored, seconds, cpu, minutes, _loadavg())


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run(market: list[Instrument], seed: int, rate: float, until: str) -> list[CatchUpRun]:
    with tempfile.TemporaryDirectory() as d:
        return [
            asyncio.run(_one(market, seed, rate, until, bulk, Path(d))) for bulk in (True, False)
        ]


@dataclass(slots=True)
class Stage:
    name: str
    seconds: float  # since the start (migrations included)
    cpu: float  # this process's CPU time (every thread) since the start


@dataclass(slots=True)
class FreshStart:
    stages: list[Stage]
    ticks: int  # today's ticks stored
    history_candles: int  # candles of the previous sessions stored (every interval)
    peak_rss_mb: float  # of the bench process
    child_cpu: float  # CPU time of the child processes it started (previous sessions made)
    child_rss_mb: float  # the largest child's peak RSS
    load_before: str
    load_after: str


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _children_peak_mb() -> float:
    """The largest peak RSS (VmHWM) of the live child processes. Not getrusage's: a spawned
    child's peak includes the parent's pages it had between fork and exec."""
    import multiprocessing

    peak = 0.0
    for p in multiprocessing.active_children():
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def _children_cpu() -> float:
    """CPU time of the child processes that ended (waited for once they have)."""
    import multiprocessing
    import os

    for _ in range(200):  # the previous sessions' child exits once the pool is shut down
        if not multiprocessing.active_children():  # (this also reaps those that ended)
            break
        time.sleep(0.05)
    t = os.times()
    return t.children_user + t.children_system


async def _fresh_start(
    market: list[Instrument], seed: int, rate: float, until: str, sessions: int, folder: Path
) -> FreshStart:
    """What ``aegis serve`` does on an empty data directory, with the simulator's clock at
    ``until`` KST on a trading day: migrations, the runtime's start (real and simulated daily
    history seeded: the API answers from then on), today up to the clock stored, and each of
    the ``sessions`` previous sessions stored at full resolution."""
    from aegis.services.runtime import Runtime
    from aegis.store.migrate import upgrade_all

    settings = Settings(
        data_dir=folder, source="sim", sim_seed=seed, sim_tick_rate=rate,
        sim_history_sessions=sessions, news_poll_seconds=0,
    )  # fmt: skip
    hh, mm = (int(x) for x in until.split(":"))
    wall = to_us(datetime(DAY.year, DAY.month, DAY.day, hh, mm, tzinfo=KST))
    load_before = _loadavg()
    t0, cpu0 = time.perf_counter(), time.process_time()
    stages: list[Stage] = []

    def stamp(name: str) -> None:
        stages.append(Stage(name, time.perf_counter() - t0, time.process_time() - cpu0))

    upgrade_all(settings.store_url, settings.app_db_url)
    stamp("migrations")
    source = SimSource(settings, [replace(i) for i in market], wall_clock=lambda: wall)
    rt = Runtime(settings, sources=[source])
    try:
        child_mb = 0.0

        async def watch_history() -> None:  # each stamped when stored, whatever the order
            nonlocal child_mb
            done = 0
            while not source.history_filled.is_set() or done < len(source.history_done):
                if len(source.history_done) > done:
                    stamp(f"previous session {source.history_done[done]} stored")
                    done += 1
                    continue
                child_mb = max(child_mb, _children_peak_mb())
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch_history())
        await rt.start()
        stamp("API ready (daily history seeded)")
        await source.caught_up.wait()
        assert rt.ingest is not None
        await rt.ingest.flush()
        stamp(f"today 09:00–{until} stored")
        await watcher
        stages.sort(key=lambda st: st.seconds)
        assert isinstance(rt.store, SQLiteStore)
        ticks = rt.store.ticks_written
    finally:
        watcher.cancel()
        await rt.close()
    store = SQLiteStore(settings.sqlite_path)
    await store.start()
    history = 0
    for day in source.history_done:
        start = kst_midnight_us(day)
        history += await _count_candles(store, start, start + 86_400_000_000)
    await store.close()
    return FreshStart(
        stages, ticks, history, _peak_rss_mb(), _children_cpu(), child_mb, load_before,
        _loadavg(),
    )  # fmt: skip


async def _count_candles(store: SQLiteStore, start: int, end: int) -> int:
    def run(conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "SELECT COUNT(*) FROM candles WHERE start>=? AND start<?", (start, end)
        ).fetchone()
        return int(row[0])

    return await store._read(run)


def fresh_start(
    market: list[Instrument], seed: int, rate: float, until: str, sessions: int
) -> FreshStart:
    with tempfile.TemporaryDirectory() as d:
        return asyncio.run(_fresh_start(market, seed, rate, until, sessions, Path(d)))
