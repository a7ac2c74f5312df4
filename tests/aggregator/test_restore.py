"""Restarting from stored candles: coarse candles without a live minute are resumed or closed."""

from __future__ import annotations

from aegis.aggregator.engine import Aggregator
from aegis.core.timeutil import kst_midnight_us
from aegis.domain.candles import Candle
from aegis.domain.ticks import Tick

DAY = kst_midnight_us(__import__("datetime").date(2026, 3, 20))
NEXT = kst_midnight_us(__import__("datetime").date(2026, 3, 23))
H9 = 9 * 3600 * 1_000_000
PREV = DAY - 86_400_000_000


def day_candle(start: int, close: int) -> Candle:
    return Candle(
        "005930", "1d", start, 100, 300, 50, close, 10, 1000, 0, start, 0, start, 0, "import"
    )


def test_stored_daily_history_is_quoted_until_the_symbol_trades() -> None:
    agg = Aggregator()
    agg.restore([day_candle(DAY, 250)], {"005930": day_candle(PREV, 200)})
    assert agg.current("005930", "1d") is None
    day = agg.day_candle("005930")
    assert day is not None and day.close == 250
    assert agg.prev_day_close("005930") == 200


def test_first_tick_of_a_new_day_closes_the_restored_day() -> None:
    agg = Aggregator()
    agg.restore([day_candle(DAY, 250)], {"005930": day_candle(PREV, 200)})
    agg.add_fresh([Tick("005930", NEXT + H9, 260, 5, 1, 1, "sim")])
    assert agg.prev_day_close("005930") == 250
    today = agg.current("005930", "1d")
    assert today is not None
    assert (today.start, today.open, today.volume) == (NEXT, 260, 5)


def test_tick_in_the_restored_day_continues_it() -> None:
    agg = Aggregator()
    agg.restore([day_candle(DAY, 250)], {"005930": day_candle(PREV, 200)})
    agg.add_fresh([Tick("005930", DAY + H9 + 60, 400, 5, 1, 1, "sim")])
    today = agg.current("005930", "1d")
    assert today is not None
    assert (today.start, today.high, today.close, today.volume) == (DAY, 400, 400, 15)
    assert agg.prev_day_close("005930") == 200
    # and keeps being updated after the minute rolls over
    agg.add_fresh([Tick("005930", DAY + H9 + 120_000_000, 40, 1, 1, 2, "sim")])
    today = agg.current("005930", "1d")
    assert today is not None
    assert (today.low, today.close, today.volume) == (40, 40, 16)


def test_restart_with_daily_history_newer_than_the_last_minute_keeps_stored_candles() -> None:
    # ticks were imported for an old day, then daily history reaching further was stored
    old_day = DAY - 7 * 86_400_000_000
    minute = Candle(
        "005930", "1m", old_day + H9, 120, 130, 110, 125, 3, 375, 3,
        old_day + H9, 0, old_day + H9 + 50, 2, "import",
    )  # fmt: skip
    stored_old_day = Candle(
        "005930", "1d", old_day, 100, 130, 90, 125, 900, 99_000, 40,
        old_day + H9 - 1, 0, old_day + H9 + 50, 2, "import",
    )  # fmt: skip
    agg = Aggregator()
    agg.restore([minute, stored_old_day, day_candle(DAY, 250)], {"005930": day_candle(PREV, 200)})

    # nothing is live: the minute must not be rebuilt into a 1d candle of its own
    assert agg.current("005930", "1d") is None
    assert agg.current("005930", "1m") is None
    day = agg.day_candle("005930")
    assert day is not None and (day.start, day.close) == (DAY, 250)


def test_a_late_tick_of_the_restored_day_read_without_the_store_adds_to_it() -> None:
    # the stream hub takes late ticks without reading the store (``add_late(…, {})``): the
    # restored day it holds is that stored candle, and the tick adds to it, not replaces it
    stored = day_candle(DAY, 250)
    stored.first_ts, stored.last_ts, stored.last_seq = DAY + H9, DAY + 15 * 3600 * 1_000_000, 9
    agg = Aggregator()
    agg.restore([stored], {"005930": day_candle(PREV, 200)})
    late = Tick("005930", DAY + H9 + 60_000_000, 90, 4, 1, 1, "kis")  # before the last trade
    assert agg.add_fresh([late]) == ([], [late])
    agg.add_late([late], {})
    day = agg.day_candle("005930")
    assert day is not None
    assert (day.open, day.high, day.low, day.close, day.volume) == (100, 300, 50, 250, 14)
    assert agg.prev_day_close("005930") == 200
