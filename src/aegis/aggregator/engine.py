"""Streaming candle aggregation: every stored interval for every symbol, tick by tick.

Only the finest interval (1m) is touched per tick. The coarser intervals form a cascade: each
keeps a *part*, the merge of the finished candles of the level below within its current bucket.
A minute that ends is merged into the 5m part; a 5m candle that ends into the 15m part; and so
on, so most minutes cost one merge. A current coarse candle is its part merged with the live
parts below it, built when asked for (``take_dirty``, ``current``).

After a restart the restored coarse candles already contain everything of their bucket: those
levels are *eager* (updated tick by tick) until their bucket ends, then rejoin the cascade.

Fresh ticks (newer than everything seen for their symbol) take the fast path; late and
out-of-order ones take ``add_late``, which needs the stored candle of their bucket when it is no
longer in memory. Either way the result equals a recomputation from the stored ticks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import count, pairwise

import numpy as np

from aegis.aggregator.batch import CandleTable, fold_columns, key_order, text_rank
from aegis.core.timeutil import KST_OFFSET_US
from aegis.domain.candles import Candle
from aegis.domain.intervals import STORED_INTERVALS, Interval
from aegis.domain.krx import off_hours, off_hours_mask
from aegis.domain.tick_arrays import TickArrays
from aegis.domain.ticks import Tick

_FAR_PAST = -(2**62)
# Revisions of symbol states, unique across every aggregator of the process: (revision, last_ts,
# last_seq) names one state of one symbol's candles (``Aggregator.stamp``).
_REVISIONS = count(1)


@dataclass(slots=True)
class _SymbolState:
    parts: list[Candle | None]  # per coarser level (5m, 15m, 1h, 1d): see the module doc
    eager_from: int  # levels ≥ this hold complete candles (restored), updated per tick
    m1: Candle | None = None  # the live candle of the finest interval
    m1_end: int = _FAR_PAST
    last_ts: int = _FAR_PAST
    last_seq: int = _FAR_PAST
    # the candle each level (0 = the finest) finished last: a reader of the store may not find
    # it there yet (the ingester writes it within a flush or two), so reads overlay it too
    done: list[Candle | None] | None = None
    # the 1d candle before the current one (its close is the quotes' previous close); kept
    # whole so a late tick of that day can still move its close
    prev_day: Candle | None = None
    # restored coarse candles without a live minute (e.g. only daily history is stored): they
    # are resumed if the next tick falls in their bucket, else they are history
    pending: dict[int, Candle] | None = None
    # new whenever the candles change other than by a fresh tick (which moves last_ts/last_seq)
    revision: int = field(default_factory=lambda: next(_REVISIONS))


def _bucket(ts: int, size: int) -> int:
    local = ts + KST_OFFSET_US
    return local - local % size - KST_OFFSET_US


def _as_interval(c: Candle, name: str, size: int) -> Candle:
    out = c.copy()
    out.interval = name
    out.start = _bucket(c.start, size)
    return out


@dataclass(slots=True)
class BulkFold:
    """A large batch folded at once (``Aggregator.split_bulk``, then ``fold_bulk``): the ticks
    to store, the rest (late or repeated: for ``add_fresh``/``add_late``), and every candle the
    folded ticks touch, merged with the live candle of its bucket, ready to store."""

    ticks: TickArrays  # to store, in key order (symbol, ts, seq)
    rest: list[Tick]
    folding: TickArrays  # the stored ticks that make candles (off-hours ones do not)
    candles: CandleTable = field(default_factory=lambda: CandleTable([]))


class Aggregator:
    """``off_hours``: symbols traded on KRX, whose trades in its off-hours sessions
    (``krx.off_hours``) are passed through (stored, streamed) but left out of every candle,
    as KRX leaves them out of the day's official prices."""

    def __init__(
        self,
        intervals: Sequence[Interval] = STORED_INTERVALS,
        off_hours: frozenset[str] = frozenset(),
    ) -> None:
        self.off_hours = off_hours
        ivs = sorted(intervals, key=lambda iv: iv.length_us)
        for lower, iv in pairwise(ivs):
            if iv.unit != "m" or iv.length_us % lower.length_us:
                raise ValueError(f"{iv.name} is not a whole multiple of {lower.name}")
        self.intervals = tuple(ivs)
        self._base_name = ivs[0].name
        self._base_size = ivs[0].length_us
        self._names = tuple(iv.name for iv in ivs[1:])
        self._sizes = tuple(iv.length_us for iv in ivs[1:])
        self._index = {n: i for i, n in enumerate(self._names)}
        # (level, name, size, is the day) of each coarser level, for the roll-over in add_fresh
        pairs = zip(self._names, self._sizes, strict=True)
        self._levels = tuple((i, n, size, n == "1d") for i, (n, size) in enumerate(pairs))
        self.state: dict[str, _SymbolState] = {}
        self._dirty: set[str] = set()
        self._finished: list[Candle] = []
        self.ticks_in = 0

    def _state(self, symbol: str) -> _SymbolState:
        st = self.state.get(symbol)
        if st is None:
            n = len(self._names)
            st = _SymbolState([None] * n, n)
            self.state[symbol] = st
        return st

    # --- restore ---------------------------------------------------------------------------
    def restore(self, candles: Iterable[Candle], prev_day: dict[str, Candle] | None = None) -> None:
        """Continue from stored candles (the newest of each symbol and interval) and, per
        symbol, the stored 1d candle before the newest one (``prev_day``)."""
        by_symbol: dict[str, dict[str, Candle]] = {}
        for c in candles:
            newest = by_symbol.setdefault(c.symbol, {})
            if c.interval not in newest or c.start > newest[c.interval].start:
                newest[c.interval] = c
        for sym, newest in by_symbol.items():
            st = self._state(sym)
            st.revision = next(_REVISIONS)
            for c in newest.values():
                if (c.last_ts, c.last_seq) > (st.last_ts, st.last_seq):
                    st.last_ts, st.last_seq = c.last_ts, c.last_seq
            m1 = newest.get(self._base_name)
            if m1 is not None and any(
                newest[name].start > _bucket(m1.start, size)
                for name, size in zip(self._names, self._sizes, strict=True)
                if name in newest
            ):
                # The newest minute is older than a stored coarse candle (daily history imported
                # or seeded after it): it is history, not the live minute. Treating it as live
                # would rebuild every coarse level from that one minute and serve it over the
                # stored candles of its bucket.
                m1 = None
            if m1 is None:
                st.pending = {i: newest[n].copy() for i, n in enumerate(self._names) if n in newest}
                continue
            st.m1 = m1.copy()
            st.m1_end = m1.start + self._base_size
            st.eager_from = 0
            for i, (name, size) in enumerate(zip(self._names, self._sizes, strict=True)):
                hi = newest.get(name)
                if hi is not None and hi.start == _bucket(m1.start, size):
                    st.parts[i] = hi.copy()
                else:
                    st.parts[i] = _as_interval(m1, name, size)
        for sym, day in (prev_day or {}).items():
            st = self._state(sym)
            st.prev_day = day
            st.revision = next(_REVISIONS)

    # --- the hot path ----------------------------------------------------------------------
    def add_fresh(self, ticks: Iterable[Tick]) -> tuple[list[Tick], list[Tick]]:
        """Fold ticks that are newer than anything seen for their symbol. Returns (folded, rest):
        the rest are late, out of order or duplicates, untouched, for ``add_late``."""
        late: list[Tick] = []
        fresh: list[Tick] = []
        keep = fresh.append
        states = self.state
        dirty = self._dirty
        finish = self._finished.append
        off_syms = self.off_hours
        nlevels = len(self._names)
        levels = self._levels
        base_name = self._base_name
        base = self._base_size
        kst = KST_OFFSET_US
        for t in ticks:
            sym, ts, price, vol, _side, seq, src = t
            st = states.get(sym)
            if st is None:
                st = self._state(sym)
            elif ts < st.last_ts or (ts == st.last_ts and seq <= st.last_seq):
                late.append(t)
                continue
            st.last_ts = ts
            st.last_seq = seq
            keep(t)
            c = st.m1
            if c is not None and ts < st.m1_end:
                if price > c.high:
                    c.high = price
                elif price < c.low:
                    c.low = price
                c.close = price
                c.volume += vol
                if c.amount is not None:
                    c.amount += price * vol
                c.trades += 1
                c.last_ts = ts
                c.last_seq = seq
                c.source = src
                if st.eager_from < nlevels:
                    for p in st.parts[st.eager_from :]:
                        p.add(t)  # type: ignore[union-attr]  # eager parts are never None
                dirty.add(sym)
                continue
            if sym in off_syms and off_hours(ts):  # a new minute: its session decides
                continue  # passed through, in no candle
            # A new minute (about every tick in a sparse market), inlined with the tick's fields
            # as locals and the buckets as arithmetic: the calls and attribute reads were most
            # of its cost. The old minute is finished and cascades up; each level whose bucket
            # the new tick leaves is finished too and merged into the next.
            local = ts + kst
            parts = st.parts
            if c is None:
                if st.pending:
                    self._resume(st, t)
            else:
                finish(c)
                done = st.done
                if done is None:
                    done = st.done = [None] * (nlevels + 1)
                done[0] = c
                child = c
                for i, name, size, is_day in levels:
                    p = parts[i]
                    if i < st.eager_from:
                        if p is None:  # ``_as_interval(child, name, size)``
                            cl = child.start + kst
                            p = parts[i] = Candle(
                                sym, name, cl - cl % size - kst, child.open, child.high,
                                child.low, child.close, child.volume, child.amount, child.trades,
                                child.first_ts, child.first_seq, child.last_ts, child.last_seq,
                                child.source,
                            )  # fmt: skip
                        else:
                            p.merge(child)
                    elif p is None:  # an eager level is never empty; nothing above to finish
                        break
                    if p.start == local - local % size - kst:
                        break  # this level goes on, so do all above it
                    finish(p)
                    done[i + 1] = p
                    parts[i] = None
                    if is_day:
                        st.prev_day = p
                    if i >= st.eager_from:
                        st.eager_from = i + 1
                    child = p
            if st.eager_from < nlevels:
                for p in parts[st.eager_from :]:
                    if p is not None:
                        p.add(t)
            start = local - local % base - kst
            st.m1 = Candle(
                sym, base_name, start, price, price, price, price, vol, price * vol, 1, ts, seq,
                ts, seq, src,
            )  # fmt: skip
            st.m1_end = start + base
            dirty.add(sym)
        self.ticks_in += len(fresh)
        return fresh, late

    def passed_through(self, t: Tick) -> bool:
        """A KRX off-hours trade: stored and streamed, in no candle."""
        return t.symbol in self.off_hours and off_hours(t.ts)

    # --- bulk ------------------------------------------------------------------------------
    def split_bulk(self, batch: TickArrays) -> BulkFold:
        """A large batch of distinct ticks from one source, taken at once instead of tick by
        tick (how a source's generated history, the simulator's morning, reaches the store
        at storage speed): the ticks to store in key order, the rest for the normal path.
        ``fold_bulk`` then makes the candles (while the ticks are written, if the caller
        likes). Changes nothing here; ``apply_bulk`` continues once both are stored."""
        names = batch.names
        code, ts, seq = batch.code, batch.ts, batch.seq
        # the newest (ts, seq) seen of each symbol of the table: a tick not after it is late
        # or repeated (the normal path sorts it out)
        last_ts = np.full(len(names), _FAR_PAST, np.int64)
        last_seq = np.full(len(names), _FAR_PAST, np.int64)
        for i, name in enumerate(names):
            st = self.state.get(name)
            if st is not None:
                last_ts[i], last_seq[i] = st.last_ts, st.last_seq
        lt, ls = last_ts[code], last_seq[code]
        fresh = (ts > lt) | ((ts == lt) & (seq > ls))
        rest = [] if fresh.all() else batch.take(~fresh).ticks()
        folding = fresh
        if self.off_hours:  # off-hours ticks: stored too, in no candle
            krx = np.array([n in self.off_hours for n in names], dtype=bool)
            folding = fresh & ~(krx[code] & off_hours_mask(ts))
        # in key order: the store's index takes the batch as one ordered run per symbol (the
        # symbols in text order, as the primary key sorts them), not scattered over the table
        rank = text_rank(names)
        keep = None if fresh.all() else np.flatnonzero(fresh)
        if keep is None:
            order = key_order(rank[code], ts, seq)
        else:
            order = keep[key_order(rank[code[keep]], ts[keep], seq[keep])]
        stored = batch.take(order)
        # the candles fold the stored ticks but the off-hours ones, taken from the stored rows:
        # already grouped and in time order (the fold's sort finds them so), and the candles
        # come out in the symbols' text order, the order the store's key keeps them in
        return BulkFold(stored, rest, stored if folding.all() else stored.take(folding[order]))

    def fold_bulk(self, bulk: BulkFold) -> CandleTable:
        """The candles of ``split_bulk``'s ticks, with numpy (``batch.fold``), each first
        bucket merged with the live candle it continues; kept in ``bulk`` too."""
        f = bulk.folding
        parts = fold_columns(
            f.code, f.names, f.ts, f.seq, f.price, f.volume, f.source, self.intervals
        )
        # Only the first bucket of each symbol and interval can hold earlier ticks: every
        # folded tick is newer than all the symbol's ticks seen so far.
        lives: dict[str, dict[str, Candle]] = {}
        for part in parts:
            firsts = part.firsts()
            merge: list[tuple[int, Candle]] = []
            for i, code, start in zip(
                firsts.tolist(), part.code[firsts].tolist(), part.start[firsts].tolist(),
                strict=True,
            ):  # fmt: skip
                symbol = f.names[code]
                of = lives.get(symbol)
                if of is None:
                    of = lives[symbol] = self._live_candles(symbol)
                live = of.get(part.interval)
                if live is not None and live.start == start:
                    merge.append((i, live))
            if not merge:
                continue
            rows = np.array([i for i, _ in merge], dtype=np.int64)
            for (i, live), new in zip(merge, part.candles_at(rows), strict=True):
                merged = live.copy()
                merged.merge(new)
                part.put(i, merged)
        bulk.candles = CandleTable(parts)
        return bulk.candles

    def _live_candles(self, symbol: str) -> dict[str, Candle]:
        """The live candle of each interval (``current``, else the stored one a restore left
        pending), the chain of snapshots built once for all of them."""
        st = self.state.get(symbol)
        if st is None:
            return {}
        out: dict[str, Candle] = {}
        if st.m1 is not None:
            out[self._base_name] = st.m1
        chain = self._currents(st, len(self._names))
        for i, name in enumerate(self._names):
            if i < len(chain):
                out[name] = chain[i]
            elif st.pending and (c := st.pending.get(i)) is not None:
                out[name] = c
        return out

    def apply_bulk(self, bulk: BulkFold) -> None:
        """Continue after a stored ``split_bulk`` + ``fold_bulk``: each folded symbol from its
        newest candles (its live minute and the coarse candles holding it, as after a
        restart)."""
        newest = {(c.symbol, c.interval): c for c in bulk.candles.newest()}
        # the batch's own day before its newest day, where it spans more than one
        within = {c.symbol: c for c in bulk.candles.before_newest("1d")}
        prev: dict[str, Candle] = {}
        for sym in {s for s, _ in newest}:
            old = self.state.pop(sym, None)
            day = newest.get((sym, "1d"))
            was = self._day_candle_of(old) if old is not None else None
            if day is None:
                if old is not None and old.prev_day is not None:
                    prev[sym] = old.prev_day
                continue
            # the newest day candle before the batch's newest day: of the batch, the day the
            # batch continued from, or the one that was already the previous day
            had = None if old is None else old.prev_day
            before = [c for c in (within.get(sym), was, had) if c is not None]
            before = [c for c in before if c.start < day.start]
            if before:
                prev[sym] = max(before, key=lambda c: c.start)
        self.restore(list(newest.values()), prev)  # fresh objects: nothing else holds them
        self.ticks_in += len(bulk.ticks)

    def _day_candle_of(self, st: _SymbolState) -> Candle | None:
        day = self._index.get("1d")
        if day is None:
            return None
        chain = self._currents(st, day + 1)
        if len(chain) > day:
            return chain[day]
        return None if st.pending is None else st.pending.get(day)

    def _resume(self, st: _SymbolState, t: Tick) -> None:
        """First tick after a restore that had coarse candles but no live minute: levels whose
        stored bucket the tick falls in continue (eager: they are complete); the others are
        finished history."""
        assert st.pending is not None
        lowest = len(self._sizes)
        for i in range(len(self._sizes) - 1, -1, -1):
            c = st.pending.get(i)
            if c is None or c.start != _bucket(t.ts, self._sizes[i]):
                break
            lowest = i
        for i in range(lowest, len(self._sizes)):
            st.parts[i] = st.pending[i]
        st.eager_from = lowest
        day = self._index.get("1d")
        if day is not None and day < lowest and day in st.pending:
            st.prev_day = st.pending[day]
        st.pending = None

    def day_candle(self, symbol: str) -> Candle | None:
        """Today's 1d candle, or the newest stored one when the symbol has not traded since."""
        c = self.current(symbol, "1d")
        if c is not None:
            return c
        st = self.state.get(symbol)
        day = self._index.get("1d")
        if st is None or st.pending is None or day is None:
            return None
        return st.pending.get(day)

    # --- late ticks ------------------------------------------------------------------------
    def _late_targets(self, st: _SymbolState, t: Tick) -> tuple[list[Candle], list[int]]:
        """Where a late tick goes: the in-memory candles to add it to, and the levels
        (0 = 1m, 1.. = coarser) whose candle for it is no longer in memory (stored)."""
        m1 = st.m1
        if m1 is None:
            return [], list(range(len(self._sizes) + 1))
        if m1.start == _bucket(t.ts, self._base_size):
            j = 0
        else:
            j = next(
                (
                    i + 1
                    for i, size in enumerate(self._sizes)
                    if _bucket(m1.start, size) == _bucket(t.ts, size)
                ),
                -1,
            )
            if j == -1:
                return [], list(range(len(self._sizes) + 1))
        targets: list[Candle] = []
        if j == 0:
            targets.append(m1)
        else:
            p = st.parts[j - 1]
            if p is None:  # the tick opens the part of this bucket
                st.parts[j - 1] = Candle.from_tick(
                    self._names[j - 1], _bucket(t.ts, self._sizes[j - 1]), t
                )
            else:
                targets.append(p)
        # eager levels above hold complete candles and need the tick themselves
        for i in range(max(st.eager_from, j), len(self._sizes)):
            p = st.parts[i]
            if p is not None and i != j - 1:
                targets.append(p)
        return targets, list(range(j))

    def late_buckets(self, ticks: Iterable[Tick]) -> set[tuple[str, str, int]]:
        """(symbol, interval, start) of the buckets of late ticks that are not in memory: the
        caller loads those from the store and hands them to ``add_late``."""
        names = (self._base_name, *self._names)
        sizes = (self._base_size, *self._sizes)
        need: set[tuple[str, str, int]] = set()
        for t in ticks:
            if self.passed_through(t):
                continue
            st = self.state.get(t.symbol)
            m1 = st.m1 if st else None
            for level in range(len(sizes)):
                b = _bucket(t.ts, sizes[level])
                if m1 is None or _bucket(m1.start, sizes[level]) != b:
                    need.add((t.symbol, names[level], b))
        return need

    def add_late(
        self, ticks: Iterable[Tick], stored: dict[tuple[str, str, int], Candle]
    ) -> list[Candle]:
        """Fold late ticks (already known to be new, not duplicates). ``stored`` holds the
        candles of buckets not in memory (missing = empty bucket). Returns the touched candles
        of those buckets, which the caller upserts."""
        names = (self._base_name, *self._names)
        sizes = (self._base_size, *self._sizes)
        day = self._index.get("1d")
        touched: dict[tuple[str, str, int], Candle] = {}
        for t in ticks:
            if self.passed_through(t):
                continue
            st = self._state(t.symbol)
            st.revision = next(_REVISIONS)
            current_day = None if day is None else self._current_day_start(st, day)
            targets, stored_levels = self._late_targets(st, t)
            for target in targets:
                target.add(t)
            for level in stored_levels:
                key = (t.symbol, names[level], _bucket(t.ts, sizes[level]))
                c = touched.get(key)
                if c is None:
                    base = stored.get(key)
                    if base is None and st.pending and level:
                        # a restored candle is the stored one: a caller that reads no store
                        # (the stream hub) adds to it, never replaces it with this tick alone
                        p = st.pending.get(level - 1)
                        base = p if p is not None and p.start == key[2] else None
                    if base is None:
                        touched[key] = Candle.from_tick(key[1], key[2], t)
                        continue
                    c = touched[key] = base.copy()
                c.add(t)
            if day is not None and current_day is not None:
                self._late_previous_day(st, t, _bucket(t.ts, sizes[day + 1]), current_day, touched)
            if (t.ts, t.seq) > (st.last_ts, st.last_seq):
                st.last_ts, st.last_seq = t.ts, t.seq
            self._dirty.add(t.symbol)
            self.ticks_in += 1
        # restored candles waiting for their next tick must see what late ticks added
        for (sym, name, start), c in touched.items():
            st = self.state[sym]
            i = self._index.get(name)
            if st.pending and i is not None and i in st.pending and st.pending[i].start == start:
                st.pending[i] = c.copy()
        return list(touched.values())

    def _current_day_start(self, st: _SymbolState, day: int) -> int | None:
        """Start of the symbol's current 1d candle (what ``day_candle`` gives), if any."""
        if st.m1 is not None:
            return _bucket(st.m1.start, self._sizes[day])
        if st.pending and (c := st.pending.get(day)) is not None:
            return c.start
        return None

    def _late_previous_day(
        self,
        st: _SymbolState,
        t: Tick,
        start: int,
        current_day: int,
        touched: dict[tuple[str, str, int], Candle],
    ) -> None:
        """A late tick of a day before the current one: the previous day's close (for
        quotes) follows it if it is that day's last trade, or if its day is newer than the
        previous day known (the candle of its bucket, as ``add_late`` just made it). ``start``:
        the tick's day."""
        if start >= current_day:
            return
        pd = st.prev_day
        if pd is not None and start < pd.start:
            return  # an older day: no longer the previous one
        if pd is not None and start == pd.start:
            if t.ts > pd.last_ts or (t.ts == pd.last_ts and t.seq > pd.last_seq):
                pd = pd.copy()  # the old one may be a finished candle handed to the store
                pd.add(t)
                st.prev_day = pd
            return
        made = touched.get((t.symbol, "1d", start))
        st.prev_day = made.copy() if made is not None else Candle.from_tick("1d", start, t)

    # --- output ----------------------------------------------------------------------------
    def _currents(self, st: _SymbolState, upto: int) -> list[Candle]:
        """Snapshots of the current candles of levels 1..upto (bottom-up)."""
        out: list[Candle] = []
        below = st.m1
        for i in range(upto):
            p = st.parts[i]
            if i >= st.eager_from or below is None:
                c = None if p is None else p.copy()
            elif p is None:
                c = _as_interval(below, self._names[i], self._sizes[i])
            else:
                c = p.copy()
                c.merge(below)
            if c is None:
                break
            out.append(c)
            below = c
        return out

    def take_dirty(self) -> list[Candle]:
        """Candles changed since the last call. Finished candles are never mutated again and
        are handed over as they are; current ones are snapshots."""
        out = self._finished
        self._finished = []
        for sym in self._dirty:
            st = self.state[sym]
            if st.m1 is not None:
                out.append(st.m1.copy())
            out.extend(self._currents(st, len(self._names)))
        self._dirty.clear()
        return out

    def discard_changes(self) -> None:
        """Forget what changed, for a reader that never writes (no snapshots are built)."""
        self._finished.clear()
        self._dirty.clear()

    def mark_dirty(self, candle: Candle) -> None:
        """Hand a candle back for the next ``take_dirty`` (after a failed write)."""
        self._finished.append(candle)

    def current(self, symbol: str, interval: str) -> Candle | None:
        """The live candle of ``symbol`` (a snapshot; the base interval's is the live object,
        not to be mutated)."""
        st = self.state.get(symbol)
        if st is None:
            return None
        if interval == self._base_name:
            return st.m1
        i = self._index.get(interval)
        if i is None:
            return None
        chain = self._currents(st, i + 1)
        return chain[i] if len(chain) > i else None

    def finished(self, symbol: str, interval: str) -> Candle | None:
        """The candle of ``interval`` the symbol finished last (complete as far as this
        aggregator's ticks go: late ones it saw after are not in it). Not to be mutated."""
        st = self.state.get(symbol)
        if st is None or st.done is None:
            return None
        if interval == self._base_name:
            return st.done[0]
        i = self._index.get(interval)
        return None if i is None else st.done[i + 1]

    def prev_day_close(self, symbol: str) -> int | None:
        st = self.state.get(symbol)
        return None if st is None or st.prev_day is None else st.prev_day.close

    def stamp(self, symbol: str) -> tuple[int, int, int] | None:
        """Equal stamps (of this or any other aggregator of the process) mean the symbol's
        candles, day candle and previous close are unchanged: what is derived from them (a quote
        row) can be reused. A fresh tick moves (last_ts, last_seq); anything else (restore, late
        ticks, a bulk batch: a new state) takes a new revision. None: the symbol has no state."""
        st = self.state.get(symbol)
        return None if st is None else (st.revision, st.last_ts, st.last_seq)


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
