"""What a simulated day must look like in a store, however its process was stopped and started:
the restart tests' one check."""

from __future__ import annotations

from datetime import date

from aegis.core.timeutil import kst_midnight_us
from aegis.sources.sim import SimSource
from aegis.store.base import Store

MIN = 60_000_000


async def assert_day_at_chain_candle(
    store: Store, source: SimSource, symbols: tuple[str, ...] | list[str], day: date
) -> None:
    """Each symbol's stored 1d candle of ``day`` is its daily-chain candle (open, high, low,
    close and volume) and its 1-minute candles sum to it; 005930 has a 1-minute candle in every
    minute of the continuous session: no hole where the simulator was down."""
    midnight = kst_midnight_us(day)
    next_day = midnight + 1440 * MIN
    bars = source.chain.day(day)
    rows = source.universe.stock_rows()
    for sym in symbols:
        k = rows[sym]
        d = await store.get_candle(sym, "1d", midnight)
        assert d is not None, sym
        want = tuple(int(x[k]) for x in (bars.open, bars.high, bars.low, bars.close, bars.volume))
        assert (d.open, d.high, d.low, d.close, d.volume) == want, sym
        mins = await store.get_candles(sym, "1m", midnight, next_day, 1_000)
        assert sum(c.volume for c in mins) == d.volume, sym
    mins = await store.get_candles("005930", "1m", midnight, next_day, 1_000)
    starts = {(c.start - midnight) // MIN for c in mins}
    missing = sorted(set(range(9 * 60, 15 * 60 + 20)) - starts)
    assert missing == [], f"no candle in {len(missing)} minutes, first {missing[:5]}"
