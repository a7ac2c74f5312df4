"""Intervals downsampled from a stored one answer a range query like the stored intervals do:
a candle whose bucket starts before ``end`` is given whole, never cut at ``end`` (a week cut on
Wednesday would show Tuesday's close and two days' volume as the week's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from aegis.core.timeutil import kst_midnight_us, parse_instant
from aegis.domain.candles import Candle
from aegis.domain.intervals import parse_interval
from aegis.domain.ticks import BUY, Tick
from aegis.reference import load_instruments
from aegis.services.market import Market
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

SYM = "005930"
MONDAY = date(2026, 3, 16)
HOUR = 3_600_000_000


@pytest.fixture
async def market(tmp_path: Path) -> AsyncIterator[Market]:
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    try:
        yield Market(store=store, instruments=load_instruments())
    finally:
        await store.close()


def day(i: int) -> Candle:
    start = kst_midnight_us(MONDAY + timedelta(days=i))
    price = 70_000 + 100 * i
    return Candle(
        SYM, "1d", start, price, price + 50, price - 50, price + 10, 1_000 + i, None, 0,
        start, 0, start, 0, "import",
    )  # fmt: skip


async def test_a_week_that_starts_before_end_is_whole(market: Market) -> None:
    await market.store.upsert_candles([day(i) for i in range(5)])  # Mon .. Fri
    wednesday = kst_midnight_us(MONDAY + timedelta(days=2))
    weeks = await market.candles(SYM, parse_interval("1w"), None, wednesday, 10)
    assert [(c.start, c.close, c.volume) for c in weeks] == [
        (kst_midnight_us(MONDAY), day(4).close, sum(day(i).volume for i in range(5)))
    ]
    # the stored 1d interval answers the same way: Tuesday's day starts before noon, is whole
    days = await market.candles(SYM, parse_interval("1d"), None, wednesday - 12 * HOUR, 10)
    assert [c.start for c in days] == [day(0).start, day(1).start]


async def test_a_two_hour_candle_that_starts_before_end_is_whole(market: Market) -> None:
    t0 = kst_midnight_us(MONDAY) + 10 * HOUR
    ticks = [Tick(SYM, t0 + i * HOUR // 2, 70_000 + i, 10, BUY, i, "kis") for i in range(4)]
    for t in ticks:  # 10:00 .. 11:30, one trade each half hour
        c = Candle.from_tick("1h", t0 + (t.ts - t0) // HOUR * HOUR, t)
        got = await market.store.get_candle(SYM, "1h", c.start)
        if got is not None:
            got.add(t)
            c = got
        await market.store.upsert_candles([c])
    twos = await market.candles(SYM, parse_interval("2h"), None, t0 + HOUR, 10)
    assert [(c.start, c.close, c.volume) for c in twos] == [(t0, 70_003, 40)]


@pytest.mark.parametrize("name", ["1w", "1M", "2h"])
async def test_an_end_in_the_last_month_of_year_9999_is_answered(market: Market, name: str) -> None:
    await market.store.upsert_candles([day(i) for i in range(5)])
    end = parse_instant("9999-12-31T23:59:59Z")
    got = await market.candles(SYM, parse_interval(name), None, end, 10)
    assert sum(c.volume for c in got) == (
        sum(day(i).volume for i in range(5)) if name != "2h" else 0
    )
