"""``aegis bench sim-catchup``: a simulator started in the middle of a session fills the day so
far: generated, folded and stored (every candle interval) through the ingest service into SQLite,
by the bulk path (``IngestService.bulk``) beside the live path (span by span through
``IngestService.ticks``, the crash journal and the bus to the stream hub, as in ``aegis serve``)
as the same-run baseline."""

from __future__ import annotations

import asyncio
import contextlib
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
