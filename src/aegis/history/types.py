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

    def to_candle(self, symbol: str) -> Candle:
        """A 1d candle (bucket = KST midnight). Without a traded value, amount is estimated as
        close × volume, the only exact-integer stand-in."""
        start = kst_midnight_us(self.day)
        amount = self.amount if self.amount is not None else self.close * self.volume
        return Candle(
            symbol, "1d", start, self.open, self.high, self.low, self.close, self.volume,
            amount, 0, start, 0, start, 0,
        )  # fmt: skip
