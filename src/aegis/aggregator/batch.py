"""Candles of a whole batch of ticks at once (``aegis import ticks``): the same candles the live
aggregator folds tick by tick (open/close by (ts, seq), first/last tick kept, amount exact), but
grouped with numpy. The result is exact; ``Candle.merge`` joins it with candles already stored."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, starmap
from typing import Any, cast, overload

import numpy as np
import numpy.typing as npt

from aegis.core.timeutil import KST_OFFSET_US
from aegis.domain.candles import Candle
from aegis.domain.intervals import STORED_INTERVALS, Interval
from aegis.domain.tick_arrays import Nums

Ints = npt.NDArray[np.int64]
# the columns of ``IntervalCandles`` between the interval and the source, in ``Candle`` order
_VALUE_FIELDS = (
    "start", "open", "high", "low", "close", "volume", "amount", "trades", "first_ts",
    "first_seq", "last_ts", "last_seq",
)  # fmt: skip


def _at(col: Nums, i: int) -> Any:
    """A Python int (or None) from an int64 or object column."""
    return col[i : i + 1].tolist()[0]


@dataclass(slots=True)
class IntervalCandles:
    """One interval's candles of a batch as columns, per symbol in start order; each candle's
    symbol is ``names[code]``."""

    names: Sequence[str]
    interval: str
    source: str
    code: Ints
    start: Ints
    open: Nums
    high: Nums
    low: Nums
    close: Nums
    volume: Nums
    amount: Nums
    trades: Ints
    first_ts: Ints
    first_seq: Ints
    last_ts: Ints
    last_seq: Ints

    def __len__(self) -> int:
        return len(self.start)

    def take(self, rows: slice | npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> IntervalCandles:
        """The candles of ``rows`` (a slice, a mask or indices), as columns."""
        return IntervalCandles(
            self.names, self.interval, self.source,
            *(getattr(self, f)[rows] for f in ("code", *_VALUE_FIELDS)),
        )  # fmt: skip

    def columns(self) -> list[list[Any]]:
        """The columns in ``Candle`` field order, as lists (symbol and interval spelled out)."""
        n = len(self.start)
        table = np.array(self.names, dtype=object)
        return [
            table[self.code].tolist(), [self.interval] * n, self.start.tolist(),
            self.open.tolist(), self.high.tolist(), self.low.tolist(), self.close.tolist(),
            self.volume.tolist(), self.amount.tolist(), self.trades.tolist(),
            self.first_ts.tolist(), self.first_seq.tolist(), self.last_ts.tolist(),
            self.last_seq.tolist(), [self.source] * n,
        ]  # fmt: skip

    def candles(self) -> list[Candle]:
        return list(starmap(Candle, zip(*self.columns(), strict=True)))

    def candles_at(self, rows: Ints) -> list[Candle]:
        """``candle(i)`` of each row, a column at a time (no numpy scalar per field)."""
        n = len(rows)
        names = self.names
        cols: list[list[Any]] = [
            [names[c] for c in self.code[rows].tolist()], [self.interval] * n,
            *(getattr(self, f)[rows].tolist() for f in _VALUE_FIELDS), [self.source] * n,
        ]  # fmt: skip
        return list(starmap(Candle, zip(*cols, strict=True)))

    def candle(self, i: int) -> Candle:
        return Candle(
            self.names[int(self.code[i])], self.interval, int(self.start[i]),
            _at(self.open, i), _at(self.high, i), _at(self.low, i), _at(self.close, i),
            _at(self.volume, i), _at(self.amount, i), int(self.trades[i]),
            int(self.first_ts[i]), int(self.first_seq[i]), int(self.last_ts[i]),
            int(self.last_seq[i]), self.source,
        )  # fmt: skip

    def put(self, i: int, c: Candle) -> None:
        """Row ``i`` becomes ``c`` (a candle of the same symbol, interval and bucket)."""
        if c.amount is None or (c.amount >= 2**63 and self.amount.dtype != object):
            self.amount = self.amount.astype(object)
        for name in ("open", "high", "low", "close", "volume"):
            col = getattr(self, name)
            if col.dtype != object and not -(2**63) <= getattr(c, name) < 2**63:
                setattr(self, name, col.astype(object))
        self.open[i], self.high[i], self.low[i], self.close[i] = c.open, c.high, c.low, c.close
        self.volume[i], self.trades[i] = c.volume, c.trades
        cast(Any, self.amount)[i] = c.amount  # None lands in an object column (above)
        self.first_ts[i], self.first_seq[i] = c.first_ts, c.first_seq
        self.last_ts[i], self.last_seq[i] = c.last_ts, c.last_seq

    def firsts(self) -> Ints:
        """The row of each symbol's first (earliest) candle."""
        new = np.empty(len(self.code), dtype=bool)
        new[:1] = True
        new[1:] = self.code[1:] != self.code[:-1]
        return np.flatnonzero(new)

    def lasts(self) -> Ints:
        """The row of each symbol's last (newest) candle."""
        end = np.empty(len(self.code), dtype=bool)
        end[-1:] = True
        end[:-1] = self.code[1:] != self.code[:-1]
        return np.flatnonzero(end)


class CandleTable(Sequence[Candle]):
    """Candles of several intervals as columns: what a bulk batch stores, read as ``Candle``
    objects only where a store has no faster path."""

    def __init__(self, parts: Sequence[IntervalCandles]) -> None:
        self.parts = [p for p in parts if len(p)]
        self._ends = np.cumsum([len(p) for p in self.parts]).tolist()

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, i: int) -> Candle: ...
    @overload
    def __getitem__(self, i: slice) -> list[Candle]: ...
    def __getitem__(self, i: int | slice) -> Candle | list[Candle]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = bisect_right(self._ends, i)
        return self.parts[k].candle(i - (self._ends[k - 1] if k else 0))

    def __iter__(self) -> Iterator[Candle]:
        for p in self.parts:
            yield from p.candles()

    def columns(self) -> list[list[Any]]:
        """``IntervalCandles.columns`` of every part, part after part."""
        columns = zip(*(p.columns() for p in self.parts), strict=True)
        return [list(chain.from_iterable(col)) for col in columns]

    def columns_in_key_order(self) -> list[list[Any]]:
        """``IntervalCandles.columns`` of every part, the rows in the order of a store's key
        (symbol text, interval text, start): written so, an index takes the batch in one walk
        instead of one per interval. Parts of different symbol tables stay part after part."""
        parts = self.parts
        if not parts or any(p.names is not parts[0].names for p in parts):
            return self.columns()
        names = parts[0].names
        rank = text_rank(names)
        intervals = sorted({p.interval for p in parts})
        code = np.concatenate([p.code for p in parts])
        level = np.concatenate([np.full(len(p), intervals.index(p.interval)) for p in parts])
        start = np.concatenate([p.start for p in parts])
        order = np.lexsort((start, level, rank[code]))
        table = np.array(names, dtype=object)
        sources = np.concatenate([np.full(len(p), p.source, dtype=object) for p in parts])

        def column(field: str) -> list[Any]:
            out: list[Any] = np.concatenate([getattr(p, field) for p in parts])[order].tolist()
            return out

        return [
            table[code[order]].tolist(), np.array(intervals, dtype=object)[level[order]].tolist(),
            start[order].tolist(), *(column(f) for f in _VALUE_FIELDS[1:]),
            sources[order].tolist(),
        ]  # fmt: skip

    def newest(self) -> list[Candle]:
        """Each symbol's newest candle of each interval."""
        return [c for p in self.parts for c in p.candles_at(p.lasts())]

    def before_newest(self, interval: str) -> list[Candle]:
        """Each symbol's candle of ``interval`` just before its newest one, where it has one."""
        out: list[Candle] = []
        for p in self.parts:
            if p.interval != interval:
                continue
            lasts = p.lasts()
            before = lasts[lasts > 0] - 1
            before = before[p.code[before] == p.code[before + 1]]
            out.extend(p.candles_at(before))
        return out


def text_rank(names: Sequence[str]) -> Ints:
    """Each name's place in text order (how a store's primary key sorts symbols)."""
    rank = np.empty(len(names), np.int64)
    rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))
    return rank


def _in_time_order(ts: Ints, seq: Ints, within: npt.NDArray[np.bool_] | None = None) -> bool:
    """Whether each row is at or after the previous one in (ts, seq), among adjacent rows
    where ``within`` holds (all of them without it)."""
    back = (ts[1:] < ts[:-1]) | ((ts[1:] == ts[:-1]) & (seq[1:] < seq[:-1]))
    if within is not None:
        back &= within
    return not back.any()


def key_order(group: Ints, ts: Ints, seq: Ints) -> npt.NDArray[np.intp]:
    """``np.lexsort((seq, ts, group))``: rows by group, each in (ts, seq) order. Ticks of a
    batch mostly come in time order already (generated history): then a stable sort on the
    group alone (a radix sort for small codes) gives the same order several times faster.
    Checked; otherwise the full sort."""
    if len(group) == 0:
        return np.empty(0, np.intp)
    lo, hi = int(group.min()), int(group.max())
    key = group.astype(np.int16) if lo >= 0 and hi < 2**15 else group
    # equal keys keep their given order in both sorts, so the two differ only where a group's
    # rows step back in (ts, seq) in the given order
    if _in_time_order(ts, seq):
        order: npt.NDArray[np.intp] = np.argsort(key, kind="stable")
        return order
    order = np.argsort(key, kind="stable")
    g = group[order]
    if _in_time_order(ts[order], seq[order], g[1:] == g[:-1]):
        return order
    full: npt.NDArray[np.intp] = np.lexsort((seq, ts, group))
    return full


def _grouped_in_time_order(sym: Ints, ts: Ints, seq: Ints) -> bool:
    """Whether each symbol's rows are one run, in (ts, seq) order (the ticks a bulk batch
    stores, already in key order): then they fold as they are."""
    same = sym[1:] == sym[:-1]
    if not _in_time_order(ts, seq, same):
        return False
    if int(sym.min()) < 0:
        return False
    runs = len(sym) - int(np.count_nonzero(same))
    return runs == int(np.count_nonzero(np.bincount(sym)))


def fold(
    sym: Ints,
    names: Sequence[str],
    ts: Ints,
    seq: Ints,
    price: Nums,
    volume: Nums,
    source: str,
    intervals: Sequence[Interval] = STORED_INTERVALS,
) -> list[Candle]:
    """Candles of ticks that all come from ``source``; each tick's symbol is given as an
    index into ``names``."""
    parts = fold_columns(sym, names, ts, seq, price, volume, source, intervals)
    return [c for p in parts for c in p.candles()]


def fold_columns(
    sym: Ints,
    names: Sequence[str],
    ts: Ints,
    seq: Ints,
    price: Nums,
    volume: Nums,
    source: str,
    intervals: Sequence[Interval] = STORED_INTERVALS,
) -> list[IntervalCandles]:
    """``fold`` as columns, one part per interval (no Python object per candle)."""
    n = len(ts)
    if n == 0:
        return []
    # per symbol in (ts, seq) order; ticks already so (a bulk batch's) keep their symbols'
    # order, so candles come out in the order their symbols came in
    if not _grouped_in_time_order(sym, ts, seq):
        order = key_order(sym, ts, seq)
        sym, ts, seq = sym[order], ts[order], seq[order]
        price, volume = price[order], volume[order]
    if volume.dtype == np.int64 and int(np.abs(volume).max()) * n >= 2**63:
        volume = volume.astype(object)
    amount = _amounts(price, volume)
    out: list[IntervalCandles] = []
    local = ts + KST_OFFSET_US
    for iv in intervals:
        size = iv.length_us
        start = local - local % size - KST_OFFSET_US
        new = np.empty(n, dtype=bool)
        new[0] = True
        new[1:] = (sym[1:] != sym[:-1]) | (start[1:] != start[:-1])
        first = np.flatnonzero(new)
        last = np.r_[first[1:] - 1, n - 1]
        part = IntervalCandles(
            names, iv.name, source, sym[first], start[first], price[first],
            np.maximum.reduceat(price, first), np.minimum.reduceat(price, first), price[last],
            np.add.reduceat(volume, first), np.add.reduceat(amount, first),
            (last - first + 1).astype(np.int64), ts[first], seq[first], ts[last], seq[last],
        )  # fmt: skip
        out.append(part)
    return out


def _amounts(price: Nums, volume: Nums) -> Nums:
    """price × volume, summed later: int64 only while no sum can overflow. Every product and
    every candle's sum is at most the sum of all |price × volume|, estimated in float64 with a
    factor 2 to spare (a whole market's session is ~10¹³ won: far below)."""
    if price.dtype == np.int64 and volume.dtype == np.int64 and len(price):
        bound = float(np.dot(np.abs(price).astype(np.float64), np.abs(volume).astype(np.float64)))
        if bound < 2.0**62:
            exact: Nums = price * volume
            return exact
    big: Nums = price.astype(object) * volume.astype(object)
    return big
