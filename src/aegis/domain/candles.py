"""OHLCV candles and the rule that folds a tick into one."""

from __future__ import annotations

from dataclasses import dataclass

from aegis.domain.ticks import Tick


@dataclass(slots=True)
class Candle:
    """One bar. ``start`` is the bucket start (UTC µs). Prices/volume are minor units;
    ``amount`` = Σ price × volume in price-minor × qty-minor units (exact int), or None where
    the data do not give it (a daily series without traded value): never an estimate.

    ``source`` is where the bar comes from (``sim``, ``kis``, ``kiwoom``, ``binance``,
    ``import``, ``backfill``): the source of the tick that set its close, so a candle built
    live and one recomputed from the stored ticks agree.

    ``first_*``/``last_*`` remember which tick set open and close, so that late and
    out-of-order ticks land exactly where a recomputation from stored ticks would put them.
    """

    symbol: str
    interval: str
    start: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    amount: int | None
    trades: int
    first_ts: int
    first_seq: int
    last_ts: int
    last_seq: int
    source: str

    @classmethod
    def from_tick(cls, interval: str, start: int, t: Tick) -> Candle:
        return cls(
            t.symbol,
            interval,
            start,
            t.price,
            t.price,
            t.price,
            t.price,
            t.volume,
            t.price * t.volume,
            1,
            t.ts,
            t.seq,
            t.ts,
            t.seq,
            t.source,
        )

    def add(self, t: Tick) -> None:
        p = t.price
        if p > self.high:
            self.high = p
        if p < self.low:
            self.low = p
        self.volume += t.volume
        if self.amount is not None:  # unknown stays unknown
            self.amount += p * t.volume
        self.trades += 1
        ts = t.ts
        if ts > self.last_ts or (ts == self.last_ts and t.seq >= self.last_seq):
            self.close = p
            self.last_ts = ts
            self.last_seq = t.seq
            self.source = t.source
        if ts < self.first_ts or (ts == self.first_ts and t.seq < self.first_seq):
            self.open = p
            self.first_ts = ts
            self.first_seq = t.seq

    def merge(self, other: Candle) -> None:
        """Fold a candle of a finer interval (or a partial of the same bucket) into this one."""
        if other.high > self.high:
            self.high = other.high
        if other.low < self.low:
            self.low = other.low
        self.volume += other.volume
        self.amount = (
            None if self.amount is None or other.amount is None else self.amount + other.amount
        )
        self.trades += other.trades
        # (ts, seq) compared without building tuples: this runs once per finished minute
        last, mine = other.last_ts, self.last_ts
        if last > mine or (last == mine and other.last_seq >= self.last_seq):
            self.close = other.close
            self.last_ts, self.last_seq = last, other.last_seq
            self.source = other.source
        first, mine = other.first_ts, self.first_ts
        if first < mine or (first == mine and other.first_seq < self.first_seq):
            self.open = other.open
            self.first_ts, self.first_seq = first, other.first_seq

    def copy(self) -> Candle:
        return Candle(
            self.symbol,
            self.interval,
            self.start,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.amount,
            self.trades,
            self.first_ts,
            self.first_seq,
            self.last_ts,
            self.last_seq,
            self.source,
        )
