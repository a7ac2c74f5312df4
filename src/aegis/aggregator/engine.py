"""Streaming candle aggregation: every stored interval for every symbol, tick by tick.

Fresh ticks (newer than everything seen for their symbol) take a tight loop; late and
out-of-order ticks take ``add_late``, which needs the stored candle of their bucket when it is no
longer in memory. Either way the result equals a recomputation from the stored ticks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aegis.core.timeutil import KST_OFFSET_US
from aegis.domain.candles import Candle
from aegis.domain.intervals import STORED_INTERVALS, Interval
from aegis.domain.ticks import Tick


@dataclass(slots=True)
class _SymbolState:
    candles: list[Candle | None]  # current candle per stored interval, same order as intervals
    last_ts: int = -(2**62)
    last_seq: int = -(2**62)
    prev_day_close: int | None = None  # close of the previous 1d candle, for quotes


@dataclass(slots=True)
class FlushBatch:
    candles: list[Candle] = field(default_factory=list)


class Aggregator:
    def __init__(self, intervals: Sequence[Interval] = STORED_INTERVALS) -> None:
        self.intervals = tuple(intervals)
        for iv in self.intervals:
            if iv.unit != "m":
                raise ValueError(f"stored intervals must be fixed-length, got {iv.name}")
        self._sizes = tuple(iv.length_us for iv in self.intervals)
        self._names = tuple(iv.name for iv in self.intervals)
        self._day_index = self._names.index("1d") if "1d" in self._names else None
        self.state: dict[str, _SymbolState] = {}
        self._dirty: set[str] = set()
        self._finished: list[Candle] = []
        self.ticks_in = 0

    # --- restore ---------------------------------------------------------------------------
    def restore(
        self, candles: Iterable[Candle], prev_day_close: dict[str, int] | None = None
    ) -> None:
        """Seed current candles (e.g. the newest stored ones) so a restart continues them."""
        index = {n: i for i, n in enumerate(self._names)}
        for c in candles:
            i = index.get(c.interval)
            if i is None:
                continue
            st = self._state(c.symbol)
            cur = st.candles[i]
            if cur is None or c.start >= cur.start:
                st.candles[i] = c.copy()
            if (c.last_ts, c.last_seq) > (st.last_ts, st.last_seq):
                st.last_ts, st.last_seq = c.last_ts, c.last_seq
        for sym, close in (prev_day_close or {}).items():
            self._state(sym).prev_day_close = close

    def _state(self, symbol: str) -> _SymbolState:
        st = self.state.get(symbol)
        if st is None:
            st = _SymbolState([None] * len(self.intervals))
            self.state[symbol] = st
        return st

    # --- the hot path ----------------------------------------------------------------------
    def is_fresh(self, t: Tick) -> bool:
        st = self.state.get(t.symbol)
        return st is None or t.ts > st.last_ts or (t.ts == st.last_ts and t.seq > st.last_seq)

    def add_fresh(self, ticks: Iterable[Tick]) -> tuple[list[Tick], list[Tick]]:
        """Fold ticks that are newer than anything seen for their symbol. Returns (folded, rest):
        the rest are late, out of order or duplicates, untouched, for ``add_late``."""
        late: list[Tick] = []
        fresh: list[Tick] = []
        keep = fresh.append
        sizes = self._sizes
        names = self._names
        nint = len(sizes)
        off = KST_OFFSET_US
        states = self.state
        dirty = self._dirty
        finished = self._finished
        day_i = self._day_index
        n = 0
        for t in ticks:
            sym, ts, price, vol, _side, seq, _src = t
            st = states.get(sym)
            if st is None:
                st = self._state(sym)
            elif ts < st.last_ts or (ts == st.last_ts and seq <= st.last_seq):
                late.append(t)
                continue
            st.last_ts = ts
            st.last_seq = seq
            keep(t)
            n += 1
            local = ts + off
            cs = st.candles
            amt = price * vol
            for i in range(nint):
                start = local - local % sizes[i] - off
                c = cs[i]
                if c is not None and c.start == start:
                    if price > c.high:
                        c.high = price
                    elif price < c.low:
                        c.low = price
                    c.close = price
                    c.volume += vol
                    c.amount += amt
                    c.trades += 1
                    c.last_ts = ts
                    c.last_seq = seq
                else:
                    if c is not None:
                        finished.append(c)
                        if i == day_i:
                            st.prev_day_close = c.close
                    cs[i] = Candle(
                        sym,
                        names[i],
                        start,
                        price,
                        price,
                        price,
                        price,
                        vol,
                        amt,
                        1,
                        ts,
                        seq,
                        ts,
                        seq,
                    )
            dirty.add(sym)
        self.ticks_in += n
        return fresh, late

    # --- late ticks ------------------------------------------------------------------------
    def late_buckets(self, ticks: Iterable[Tick]) -> set[tuple[str, str, int]]:
        """(symbol, interval, start) of buckets late ticks fall in that are not in memory:
        the caller loads those from the store and hands them to ``add_late``."""
        need: set[tuple[str, str, int]] = set()
        for t in ticks:
            st = self.state.get(t.symbol)
            for i, size in enumerate(self._sizes):
                start = _bucket(t.ts, size)
                cur = st.candles[i] if st else None
                if cur is None or cur.start != start:
                    need.add((t.symbol, self._names[i], start))
        return need

    def add_late(
        self, ticks: Iterable[Tick], stored: dict[tuple[str, str, int], Candle]
    ) -> list[Candle]:
        """Fold late ticks (already known to be new, i.e. not duplicates). ``stored`` holds the
        candles of buckets not in memory (missing = empty bucket). Returns the touched candles
        outside the current buckets, which the caller upserts."""
        touched: dict[tuple[str, str, int], Candle] = {}
        for t in ticks:
            st = self._state(t.symbol)
            for i, size in enumerate(self._sizes):
                start = _bucket(t.ts, size)
                cur = st.candles[i]
                if cur is not None and cur.start == start:
                    cur.add(t)
                    continue
                key = (t.symbol, self._names[i], start)
                c = touched.get(key) or stored.get(key)
                if c is None:
                    c = Candle.from_tick(self._names[i], start, t)
                    if cur is None or start > cur.start:
                        # a later bucket than anything seen: it becomes current
                        if cur is not None:
                            self._finished.append(cur)
                        st.candles[i] = c
                        continue
                else:
                    c = c if key in touched else c.copy()
                    c.add(t)
                touched[key] = c
            if (t.ts, t.seq) > (st.last_ts, st.last_seq):
                st.last_ts, st.last_seq = t.ts, t.seq
            self._dirty.add(t.symbol)
            self.ticks_in += 1
        return list(touched.values())

    # --- output ----------------------------------------------------------------------------
    def take_dirty(self) -> list[Candle]:
        """Candles changed since the last call (copies, safe to hand to another thread)."""
        out = [c.copy() for c in self._finished]
        self._finished.clear()
        for sym in self._dirty:
            for c in self.state[sym].candles:
                if c is not None:
                    out.append(c.copy())
        self._dirty.clear()
        return out

    def mark_dirty(self, candle: Candle) -> None:
        """Hand a candle back for the next ``take_dirty`` (after a failed write)."""
        self._finished.append(candle)

    def current(self, symbol: str, interval: str) -> Candle | None:
        st = self.state.get(symbol)
        if st is None:
            return None
        try:
            return st.candles[self._names.index(interval)]
        except ValueError:
            return None

    def prev_day_close(self, symbol: str) -> int | None:
        st = self.state.get(symbol)
        return None if st is None else st.prev_day_close


def _bucket(ts: int, size: int) -> int:
    local = ts + KST_OFFSET_US
    return local - local % size - KST_OFFSET_US


def recompute(ticks: Iterable[Tick], interval: Interval) -> list[Candle]:
    """Candles of ``interval`` from ticks in any order: the reference the live path must equal."""
    out: dict[tuple[str, int], Candle] = {}
    for t in ticks:
        start = interval.bucket(t.ts)
        key = (t.symbol, start)
        c = out.get(key)
        if c is None:
            out[key] = Candle.from_tick(interval.name, start, t)
        else:
            c.add(t)
    return sorted(out.values(), key=lambda c: (c.symbol, c.start))
