"""A daily bar as history readers and backfill produce it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aegis.core.timeutil import kst_midnight_us
from aegis.domain.candles import Candle


@dataclass(frozen=True, slots=True)
class DailyBar:
    day: date
    open: int
    high: int
    low: int
    close: int
    volume: int
    amount: int | None = None  # traded value in won when the source gives it

    def to_candle(self, symbol: str, source: str) -> Candle:
        """A 1d candle (bucket = KST midnight) labelled with where it comes from (``import``,
        ``backfill``, ``sim``). Without a traded value, amount stays None: unknown, not
        estimated."""
        start = kst_midnight_us(self.day)
        return Candle(
            symbol, "1d", start, self.open, self.high, self.low, self.close, self.volume,
            self.amount, 0, start, 0, start, 0, source,
        )  # fmt: skip
