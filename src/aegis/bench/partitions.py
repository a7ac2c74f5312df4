"""``aegis bench partitions``: day partitions (revision 0007) beside plain tables (the layout
before it), on the same rows of one PostgreSQL database.

Reads: the newest 1m candle of every symbol (what a restart restores) and the newest 500 1m
candles of one symbol with no time bound (a chart). Retention: one expired day of ticks removed,
as a dropped partition and as a row-by-row DELETE. The data are synthetic (labelled ``sim``).
The database must be empty: the scenario migrates it, converts it back and forth and leaves it
migrated.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from alembic import command

from aegis.core.errors import StoreError
from aegis.core.timeutil import US_PER_DAY, kst_day, kst_midnight_us, now_us
from aegis.domain.candles import Candle
from aegis.domain.sources import SIM
from aegis.domain.ticks import BUY, Tick
from aegis.store.migrate import alembic_config, upgrade
from aegis.store.postgres import PostgresStore, asyncpg_dsn

MIN = 60_000_000
HOUR = 60 * MIN
_BATCH = 20_000


@dataclass
class Layout:
    latest_ms: float  # latest_candles("1m") over every symbol, median
    chart_ms: float  # get_candles(1m, no bounds, 500), median over the symbols
    retention_ms: float  # one expired day of ticks removed
    retention_rows: int


@dataclass
class PartitionsResult:
    symbols: int
    candle_days: int
    candles: int
    tick_days: int
    ticks: int
    partitions: int
    partitioned: Layout
    plain: Layout


async def _ms(call: Callable[[], Awaitable[object]], repeat: int) -> float:
    await call()  # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def _load(store: PostgresStore, symbols: list[str], candle_days: int, per_day: int) -> None:
    """1m candles over ``candle_days`` KST days before today (``per_day`` each, from 09:00)."""
    today = kst_day(now_us())
    step = 390 // per_day * MIN
    batch: list[Candle] = []
    for d in range(1, candle_days + 1):
        base = kst_midnight_us(today - timedelta(days=d)) + 9 * HOUR
        for s in symbols:
            for k in range(per_day):
                t = base + k * step
                batch.append(Candle(s, "1m", t, 1, 1, 1, 1, 1, 1, 1, t, 0, t, 0, SIM))
            if len(batch) >= _BATCH:
                await store.upsert_candles(batch)
                batch = []
    await store.upsert_candles(batch)


async def _load_ticks(store: PostgresStore, tick_days: int, per_day: int) -> None:
    today = kst_day(now_us())
    for d in range(1, tick_days + 1):
        base = kst_midnight_us(today - timedelta(days=d)) + 9 * HOUR
        spacing = (6 * HOUR) // per_day
        for lo in range(0, per_day, _BATCH):
            ticks = [
                Tick(f"{i % 100:06d}", base + i * spacing, 70_000, 1, BUY, i, SIM)
                for i in range(lo, min(per_day, lo + _BATCH))
            ]
            await store.write_ticks(ticks)


async def _measure(url: str, symbols: list[str], expire: int, repeat: int) -> Layout:
    """Reads, then retention removing the ticks of KST day ``expire`` days before today (the
    oldest left)."""
    # cutoff = the end of that day: it alone is wholly expired
    end = kst_midnight_us(kst_day(now_us()) - timedelta(days=expire - 1))
    store = PostgresStore(url)
    await store.start()
    try:
        # the housekeeping done before (hourly in the ingester): the loaded days get partitions
        await store.apply_retention(end + 6 * US_PER_DAY, 7, {"1m": 90}, frozenset())
        latest = await _ms(lambda: store.latest_candles("1m", symbols), repeat)
        charts = []
        for s in symbols[: max(1, min(len(symbols), repeat * 4))]:
            t = time.perf_counter()
            await store.get_candles(s, "1m", None, None, 500)
            charts.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        removed = await store.apply_retention(end + 7 * US_PER_DAY, 7, {}, frozenset())
        retention_ms = (time.perf_counter() - t) * 1000
        return Layout(latest, statistics.median(charts), retention_ms, removed.get("ticks", 0))
    finally:
        await store.close()


async def _prepare(
    url: str, symbols: list[str], candle_days: int, per_day: int, tick_days: int, ticks_per_day: int
) -> int:
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
            raise StoreError(
                "aegis bench partitions needs an empty database: it converts its tables"
            )
    finally:
        await conn.close()
    upgrade(url)
    store = PostgresStore(url)
    await store.start()
    try:
        await _load(store, symbols, candle_days, per_day)
        await _load_ticks(store, tick_days, ticks_per_day)
        return int(await store.pool.fetchval("SELECT count(*) FROM pg_inherits"))
    finally:
        await store.close()


def run(
    url: str,
    symbols: int = 300,
    candle_days: int = 60,
    candles_per_day: int = 39,
    tick_days: int = 4,
    ticks_per_day: int = 200_000,
    repeat: int = 5,
) -> PartitionsResult:
    """Partitioned first; then the same rows in plain tables (downgrade to 0006, marked current
    so the store opens them); then partitioned again for its retention of the next day."""
    if tick_days < 3 or tick_days > 6:
        raise ValueError("tick_days must be 3…6 (inside the 7-day window, two days to expire)")
    names = [f"{i:06d}" for i in range(symbols)]
    cfg = alembic_config(url)
    parts = asyncio.run(
        _prepare(url, names, candle_days, candles_per_day, tick_days, ticks_per_day)
    )
    partitioned = asyncio.run(_measure(url, names, tick_days, repeat))
    command.downgrade(cfg, "0006")
    command.stamp(cfg, "head")
    plain = asyncio.run(_measure(url, names, tick_days - 1, repeat))
    command.stamp(cfg, "0006")
    upgrade(url)
    return PartitionsResult(
        symbols,
        candle_days,
        symbols * candle_days * candles_per_day,
        tick_days,
        tick_days * ticks_per_day,
        parts,
        partitioned,
        plain,
    )
