"""A candle read just after its bucket ended: the ingester writes the finished candle within a
flush or two, so the store may not hold it yet (or hold it as it was mid-bucket). Reads
(``Market.candles``, the store-built ``Market.candles_json``, intervals downsampled from a
stored one) still give it whole from memory, and never hide a stored row that holds more (a late
trade this process did not see)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path

import orjson
import pytest

from aegis.aggregator.engine import recompute
from aegis.core.timeutil import kst_midnight_us
from aegis.domain.candles import Candle
from aegis.domain.intervals import parse_interval
from aegis.domain.ticks import BUY, Tick
from aegis.reference import load_instruments
from aegis.services.market import Market, candle_row
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

SYM = "005930"
MIN = 60_000_000
T0 = kst_midnight_us(date(2026, 3, 23)) + 10 * 60 * MIN  # 10:00 KST
M1, M3, M5 = parse_interval("1m"), parse_interval("3m"), parse_interval("5m")

# 10:00 and 10:01 traded; 10:02 is the current minute
TICKS = [Tick(SYM, T0 + i * 15_000_000, 70_000 + 100 * (i % 5), 1 + i, BUY, i, "kis")
         for i in range(10)]  # fmt: skip


@pytest.fixture
async def market(tmp_path: Path) -> AsyncIterator[Market]:
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    m = Market(store=store, instruments=load_instruments())
    m.live.add_fresh(TICKS)
    m.live.discard_changes()
    try:
        yield m
    finally:
        await store.close()


def expected(iv_name: str) -> list[Candle]:
    return recompute(TICKS, parse_interval(iv_name))


def rows_of(candles: list[Candle], m: Market) -> list[dict[str, object]]:
    return [dict(candle_row(c, m.by_symbol[SYM])) for c in candles]


async def both(m: Market, iv_name: str, limit: int = 100) -> tuple[list[Candle], Sequence[object]]:
    iv = parse_interval(iv_name)
    objects = await m.candles(SYM, iv, None, None, limit)
    raw = await m.candles_json(SYM, iv, None, None, limit)
    return objects, (orjson.loads(raw) if raw is not None else rows_of(objects, m))


async def test_the_finished_minute_not_yet_stored_is_read_from_memory(market: Market) -> None:
    # only 10:00 is stored: 10:01 finished a moment ago, its flush has not happened
    await market.store.upsert_candles([expected("1m")[0]])
    objects, raw = await both(market, "1m")
    assert [(c.start, c.volume, c.close) for c in objects] == [
        (c.start, c.volume, c.close) for c in expected("1m")
    ]
    assert raw == rows_of(expected("1m"), market)
    # a 3m candle is downsampled from the same minutes: 10:00–10:02 whole
    threes, _ = await both(market, "3m")
    assert [(c.start, c.volume) for c in threes] == [(c.start, c.volume) for c in expected("3m")]


async def test_a_row_stored_mid_bucket_is_replaced_by_the_whole_candle(market: Market) -> None:
    partial = recompute([t for t in TICKS if t.ts < T0 + MIN + 15_000_000], M1)  # 10:01 half
    await market.store.upsert_candles(partial)
    _, raw = await both(market, "1m")
    assert raw == rows_of(expected("1m"), market)


async def test_a_stored_row_with_a_late_trade_wins_over_memory(market: Market) -> None:
    late = Tick(SYM, T0 + MIN + 1, 99_000, 50, BUY, 99, "kis")  # stored by the ingester only
    stored = recompute([*TICKS[:8], late], M1)
    await market.store.upsert_candles(stored)
    objects, raw = await both(market, "1m")
    minute = next(c for c in objects if c.start == T0 + MIN)
    assert (minute.high, minute.volume) == (99_000, stored[1].volume)
    assert raw[1] == rows_of([stored[1]], market)[0]


async def test_limits_count_the_candles_from_memory(market: Market) -> None:
    await market.store.upsert_candles([expected("1m")[0]])
    for limit in (1, 2, 3):
        objects, raw = await both(market, "1m", limit)
        assert raw == rows_of(expected("1m")[-limit:], market)
        assert len(objects) == limit
    fives, raw5 = await both(market, "5m", 1)
    assert [(c.start, c.volume) for c in fives] == [(c.start, c.volume) for c in expected("5m")]
    assert raw5 == rows_of(expected("5m"), market)


async def test_a_bucket_a_late_trade_opened_between_memory_candles_is_served(
    tmp_path: Path,
) -> None:
    """10:00, 10:01, 10:03 and 10:05 traded, then a late trade of 10:04 came (a minute
    without trades till then): in memory are 10:03 (finished last) and 10:05 (current); the
    10:04 candle is only in the store, between them."""
    db = tmp_path / "late.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    try:
        m = Market(store=store, instruments=load_instruments())
        fresh = [Tick(SYM, T0 + m * MIN, 70_000 + m, 10, BUY, m, "kis") for m in (0, 1, 3, 5)]
        late = Tick(SYM, T0 + 4 * MIN + 5, 71_000, 3, BUY, 9, "kis")
        m.live.add_fresh(fresh)
        m.live.add_late([late], {})  # as the stream hub takes it (the ingester stores it)
        m.live.discard_changes()
        ticks = [*fresh, late]
        await store.upsert_candles([c for iv in m.live.intervals for c in recompute(ticks, iv)])
        want = recompute(ticks, M1)
        for limit in (1, 2, 3, 4, 5, 100):
            objects, raw = await both(m, "1m", limit)
            assert raw == rows_of(want[-limit:], m), limit
            assert [c.start for c in objects] == [c.start for c in want[-limit:]]
    finally:
        await store.close()


async def test_a_bucket_a_late_trade_opened_after_the_current_candle_is_served(
    tmp_path: Path,
) -> None:
    """A post-market trade (15:45, in no candle) moves the newest time seen past the current
    minute (10:02); a closing-auction print of 15:35 after it is late, and its candles are
    only in the store, after every candle in memory."""
    db = tmp_path / "after.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    try:
        m = Market(store=store, instruments=load_instruments())
        fresh = [Tick(SYM, T0 + i * 2 * MIN, 70_000 + i, 10, BUY, i, "kis") for i in range(2)]
        post = Tick(SYM, T0 + 345 * MIN, 72_000, 4, BUY, 7, "kis")  # 15:45: off-hours
        close = Tick(SYM, T0 + 335 * MIN, 71_000, 3, BUY, 9, "kis")  # 15:35
        m.live.add_fresh([*fresh, post])
        assert m.live.passed_through(post)
        m.live.add_late([close], {})  # as the stream hub takes it (the ingester stores it)
        m.live.discard_changes()
        ticks = [*fresh, close]
        await store.upsert_candles([c for iv in m.live.intervals for c in recompute(ticks, iv)])
        for name in ("1m", "1h"):
            want = expected_of(ticks, name)
            for limit in (1, 2, 3, 100):
                objects, raw = await both(m, name, limit)
                assert raw == rows_of(want[-limit:], m), (name, limit)
                assert [c.start for c in objects] == [c.start for c in want[-limit:]]
    finally:
        await store.close()


def expected_of(ticks: list[Tick], iv_name: str) -> list[Candle]:
    return recompute(ticks, parse_interval(iv_name))
