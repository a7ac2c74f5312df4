"""``aegis bench ingest``: ticks → every candle interval → the store (SQLite, or PostgreSQL with
``--database-url``), end to end, beside pandas ``resample().ohlc()`` on the same ticks as the
baseline measured in the same run.

PostgreSQL: the bench never writes into the database it is given. It creates a scratch database
on that server (the role needs CREATEDB), migrates it, and drops it afterwards."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from aegis.bus.memory import MemoryBus
from aegis.domain.intervals import STORED_INTERVALS
from aegis.domain.ticks import Tick
from aegis.services.ingest import IngestService
from aegis.services.journal import TickJournal
from aegis.store.base import Store
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore


@dataclass
class IngestResult:
    ticks: int
    symbols: int
    seconds: float
    candles: int
    pandas_seconds: float | None
    market_seconds: float  # exchange time the ticks span
    seconds_without_journal: float  # the same ticks without the crash journal (the baseline)
    store: str = "sqlite"
    cpu_seconds: float = 0.0  # process CPU time of the journaled run (PostgreSQL's not included)
    # the store's tick write path alone (write_ticks in WRITE_BATCH blocks; COPY in PostgreSQL):
    # all new, then the same ticks again (all already stored)
    write_seconds: float = 0.0
    rewrite_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.ticks / self.seconds

    @property
    def per_symbol_minute(self) -> float:
        """Ticks per symbol and minute of exchange time: ≈ 1 is the sparse market."""
        return self.ticks / max(1, self.symbols) / max(1 / 60, self.market_seconds / 60)

    @property
    def pandas_rate(self) -> float | None:
        return None if not self.pandas_seconds else self.ticks / self.pandas_seconds


def make_ticks(n: int, seed: int, rate: float | None = None) -> tuple[list[Tick], list[object]]:
    """``n`` simulated ticks of the whole market at ``rate`` trades per exchange second (None:
    spread over one session, i.e. few ticks per symbol and minute)."""
    from aegis.reference import load_instruments
    from aegis.sources.sim.generate import generate_ticks

    instruments = load_instruments()
    return generate_ticks(instruments, seed, n, rate=rate), list(instruments)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    from aegis.store.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new empty database on the server of ``url``, dropped afterwards."""
    name = f"aegis_bench_{secrets.token_hex(6)}"  # generated, never user text: safe to quote
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(url, name)
    finally:
        asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _store(url: str) -> Store:
    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"))
    from aegis.store.postgres import PostgresStore

    return PostgresStore(url)


async def _ingest(
    ticks: list[Tick],
    instruments: list[object],
    url: str,
    batch: int,
    progress: Callable[[int], None],
    journal: Path | None,
) -> tuple[float, int, float]:
    from aegis.domain.instruments import Instrument

    upgrade(url)
    store = _store(url)
    await store.start()
    insts = [i for i in instruments if isinstance(i, Instrument)]
    await store.upsert_instruments(insts)
    # as in the product: every accepted batch goes to the crash journal before the bus
    ingest = IngestService(
        store,
        MemoryBus(),
        known_symbols={i.symbol for i in insts},
        journal=None if journal is None else TickJournal(journal),
    )
    await ingest.start()
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i in range(0, len(ticks), batch):
        await ingest.ticks(ticks[i : i + batch])
        progress(min(batch, len(ticks) - i))
        await asyncio.sleep(0)  # let the flush task run as it would live
    await ingest.close()  # everything written
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    candles = 0
    for iv in STORED_INTERVALS:
        for c in await store.latest_candles(iv.name):
            candles += 1 if c else 0
    stored = len(await store.get_ticks(ticks[0].symbol, -(2**62), 2**62))
    assert stored > 0
    await store.close()
    return elapsed, candles, cpu


WRITE_BATCH = 10_000


async def _write_path(ticks: list[Tick], url: str) -> tuple[float, float]:
    """``write_ticks`` alone into a fresh store, then the same ticks again (duplicates)."""
    upgrade(url)
    store = _store(url)
    await store.start()
    try:
        times: list[float] = []
        for _ in range(2):
            t0 = time.perf_counter()
            for i in range(0, len(ticks), WRITE_BATCH):
                await store.write_ticks(ticks[i : i + WRITE_BATCH])
            times.append(time.perf_counter() - t0)
    finally:
        await store.close()
    return times[0], times[1]


def pandas_baseline(ticks: list[Tick]) -> float | None:
    """None when pandas is not installed (it is not a dependency of AEGIS)."""
    try:
        import pandas as pd
    except ImportError:
        return None

    t0 = time.perf_counter()
    df = pd.DataFrame(ticks, columns=list(Tick._fields))
    df["time"] = pd.to_datetime(df["ts"], unit="us", utc=True).dt.tz_convert("Asia/Seoul")
    df = df.set_index("time")
    grouped = df.groupby("symbol")
    for rule in ("1min", "5min", "15min", "1h", "1D"):
        grouped["price"].resample(rule).ohlc()
        grouped["volume"].resample(rule).sum()
    return time.perf_counter() - t0


def run(
    n: int,
    seed: int,
    batch: int,
    with_pandas: bool,
    progress: Callable[[int], None],
    rate: float | None = None,
    database_url: str | None = None,
) -> IngestResult:
    ticks, instruments = make_ticks(n, seed, rate)
    with tempfile.TemporaryDirectory() as d:
        if database_url is None:
            seconds, candles, cpu = asyncio.run(
                _ingest(
                    ticks, instruments, f"sqlite:///{d}/bench.db", batch, progress, Path(d) / "j"
                )
            )
            bare, _, _ = asyncio.run(
                _ingest(ticks, instruments, f"sqlite:///{d}/bare.db", batch, lambda _n: None, None)
            )
            write, rewrite = asyncio.run(_write_path(ticks, f"sqlite:///{d}/write.db"))
        else:
            with scratch_database(database_url) as url:
                seconds, candles, cpu = asyncio.run(
                    _ingest(ticks, instruments, url, batch, progress, Path(d) / "j")
                )
            with scratch_database(database_url) as url:
                bare, _, _ = asyncio.run(
                    _ingest(ticks, instruments, url, batch, lambda _n: None, None)
                )
            with scratch_database(database_url) as url:
                write, rewrite = asyncio.run(_write_path(ticks, url))
    pandas_s = pandas_baseline(ticks) if with_pandas else None
    return IngestResult(
        len(ticks),
        len({t.symbol for t in ticks}),
        seconds,
        candles,
        pandas_s,
        (ticks[-1].ts - ticks[0].ts) / 1e6,
        bare,
        "sqlite" if database_url is None else "postgres",
        cpu,
        write,
        rewrite,
    )
