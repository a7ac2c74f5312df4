"""Market data services: instruments, company search, quotes and candle queries. Transport-free:
the API layer turns these results into wire schemas."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from aegis.aggregator.downsample import downsample
from aegis.aggregator.engine import Aggregator
from aegis.core.errors import InvalidRequest, NotFound
from aegis.core.timeutil import iso_z
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.intervals import Interval
from aegis.domain.krx import KRX_MARKETS
from aegis.reference.hangul import chosung
from aegis.services.search import SearchIndex, normalise
from aegis.store.base import Store

_JAMO_ONLY = re.compile(r"^[ㄱ-ㅎ]+$")


@dataclass(slots=True)
class Quote:
    instrument: Instrument
    price: int
    open: int
    high: int
    low: int
    volume: int
    amount: int | None
    prev_close: int | None
    last_ts: int
    source: str

    @property
    def change(self) -> int | None:
        return None if self.prev_close is None else self.price - self.prev_close

    @property
    def change_percent(self) -> float | None:
        if not self.prev_close:
            return None
        return round((self.price - self.prev_close) * 100 / self.prev_close, 2)

    @property
    def market_cap(self) -> int | None:
        i = self.instrument
        if i.kind != "stock" or not i.shares or i.price_scale:
            return None
        return self.price * i.shares


def candle_row(c: Candle, i: Instrument) -> dict[str, int | float | str | None]:
    """A candle on the wire (REST /ohlcv rows, WebSocket ``candle`` messages)."""
    return {
        "time": c.start // 1_000_000,
        "open": i.price_value(c.open),
        "high": i.price_value(c.high),
        "low": i.price_value(c.low),
        "close": i.price_value(c.close),
        "volume": i.qty_value(c.volume),
        "amount": i.amount_value(c.amount),
        "source": c.source,
    }


def quote_row(q: Quote) -> dict[str, object]:
    i = q.instrument
    return {
        "symbol": i.symbol,
        "name": i.name,
        "market": i.market,
        "industry": i.industry,
        "price": i.price_value(q.price),
        "change": None if q.change is None else i.price_value(q.change),
        "changePercent": q.change_percent,
        "volume": i.qty_value(q.volume),
        "amount": i.amount_value(q.amount),
        "open": i.price_value(q.open),
        "high": i.price_value(q.high),
        "low": i.price_value(q.low),
        "prevClose": None if q.prev_close is None else i.price_value(q.prev_close),
        "marketCap": q.market_cap,
        "time": iso_z(q.last_ts),
        "source": q.source,
    }


class Market:
    """The instrument registry plus live state (an aggregator fed by the stream hub)."""

    def __init__(self, store: Store, instruments: Iterable[Instrument]) -> None:
        self.store = store
        self.by_symbol: dict[str, Instrument] = {}
        self.by_id: dict[int, Instrument] = {}
        self.live = Aggregator()
        self.last_source: dict[str, str] = {}
        # symbol → (what its row was built from, the row as JSON): see ``quote_json``
        self._rows: dict[str, tuple[Instrument, int | None, tuple[int, int, int], bytes]] = {}
        self.set_instruments(instruments)

    def set_instruments(self, instruments: Iterable[Instrument]) -> None:
        for i in instruments:
            self.by_symbol[i.symbol] = i
            if i.company_id is not None:
                self.by_id[i.company_id] = i
        self._chosung = {
            i.symbol: chosung(i.name.replace(" ", "")) for i in self.by_symbol.values()
        }
        self._search = SearchIndex(self.by_symbol.values(), self._chosung)
        self.live.off_hours = self.krx_symbols()

    def krx_symbols(self) -> frozenset[str]:
        """Symbols traded on KRX: their off-hours trades are in no candle (``krx.off_hours``)."""
        return frozenset(s for s, i in self.by_symbol.items() if i.market in KRX_MARKETS)

    # --- lookup ---------------------------------------------------------------------------
    def lookup(self, symbol: str) -> Instrument | None:
        """The instrument of a code as clients write it: codes may hold letters (``00104K``),
        which are taken in lower case too."""
        return self.by_symbol.get(symbol) or self.by_symbol.get(symbol.upper())

    def instrument(self, symbol: str) -> Instrument:
        i = self.lookup(symbol)
        if i is None:
            raise NotFound(f"unknown symbol {symbol!r}")
        return i

    def resolve(self, codes: Sequence[str]) -> list[str]:
        """The symbols of ``codes`` as the listing spells them, each once, in the order given
        (two spellings of one code are one symbol). NotFound names the codes not listed."""
        found: list[Instrument | None] = [self.lookup(c) for c in codes]
        unknown = [c for c, i in zip(codes, found, strict=True) if i is None]
        if unknown:
            raise NotFound(
                f"unknown symbols: {', '.join(unknown[:10])}", details={"unknown": unknown[:50]}
            )
        # the listing's own strings: a subscription then holds no string of its own
        return list(dict.fromkeys(i.symbol for i in found if i is not None))

    def company(self, company_id: int) -> Instrument:
        i = self.by_id.get(company_id)
        if i is None:
            raise NotFound(f"no company with id {company_id}")
        return i

    def search(self, keyword: str, limit: int = 20) -> list[Instrument]:
        """Code, Korean name, English name or initial consonants; best matches first (the
        ranking is described in :mod:`aegis.services.search`)."""
        q = normalise(keyword)
        if not q:
            raise InvalidRequest("keyword must not be empty")
        hits = self._search.search(q, limit, bool(_JAMO_ONLY.match(q)))
        return [self.by_symbol[h.symbol] for h in hits]

    async def restore_live(self, *, anew: bool = False) -> None:
        """Continue the live state from the store (at start-up): the newest candle of each
        symbol and interval, and the close before the newest day for change %. ``anew``: drop
        the live state first (after ticks were lost on the bus, the store is the truth)."""
        if anew:
            self.live = Aggregator(off_hours=self.krx_symbols())
        restored: list[Candle] = []
        for iv in self.live.intervals:
            restored.extend(await self.store.latest_candles(iv.name))
        prev = {c.symbol: c for c in await self.store.latest_candles("1d", skip=1)}
        self.live.restore(restored, prev)
        self.live.discard_changes()

    # --- quotes ---------------------------------------------------------------------------
    def quote(self, symbol: str) -> Quote | None:
        inst = self.instrument(symbol)
        symbol = inst.symbol  # the listing's spelling (the lookup also takes lower case)
        day = self.live.day_candle(symbol)
        if day is None:
            return None
        prev = self.live.prev_day_close(symbol)
        if prev is None:
            prev = inst.prev_close
        return Quote(
            inst,
            day.close,
            day.open,
            day.high,
            day.low,
            day.volume,
            day.amount,
            prev,
            day.last_ts,
            day.source,
        )

    def quote_json(self, inst: Instrument) -> bytes:
        """``quote_row`` of the instrument's quote as JSON (``null`` before its first trade),
        rebuilt only when the quote changed: every logged-in client polls its favorites once a
        second, and building a quote (the day candle merged from the live chain) and its row
        cost more than the rest of the answer. The row depends on the symbol's candles (the
        aggregator's stamp), the instrument (replaced, never changed in place, by
        ``set_instruments``) and its ``prev_close`` (which a source may set in place)."""
        stamp = self.live.stamp(inst.symbol)
        known = self._rows.get(inst.symbol)
        if (
            known is not None
            and stamp is not None
            and known[0] is inst
            and known[1] == inst.prev_close
            and known[2] == stamp
        ):
            return known[3]
        q = self.quote(inst.symbol)
        row = b"null" if q is None else orjson.dumps(quote_row(q))
        if stamp is not None and self.by_symbol.get(inst.symbol) is inst:
            self._rows[inst.symbol] = (inst, inst.prev_close, stamp, row)
        return row

    def quotes(self, symbols: Iterable[str] | None = None) -> list[Quote]:
        syms = list(self.by_symbol) if symbols is None else list(symbols)
        out = []
        for s in syms:
            q = self.quote(s)
            if q is not None:
                out.append(q)
        return out

    # --- candles --------------------------------------------------------------------------
    async def candles_json(
        self, symbol: str, interval: Interval, start: int | None, end: int | None, limit: int
    ) -> bytes | None:
        """The wire JSON array of ``candles``, built by the store itself when it can (stored
        intervals): large responses without a Python object per candle. None: use ``candles``."""
        if not interval.stored:
            return None
        inst = self.instrument(symbol)
        symbol = inst.symbol  # the listing's spelling (the lookup also takes lower case)
        tail = self._live_tail(symbol, interval.name, start, end)
        # stored candles end where the ones in memory begin; those are appended from memory
        hi = end if not tail else tail[0][0].start
        stored = await self.store.candles_json(
            symbol,
            interval.name,
            start,
            hi,
            max(limit - len(tail), 1),
            inst.price_scale,
            inst.qty_scale,
        )
        if stored is None or not tail:
            return stored
        # From the oldest candle in memory on, the store's rows with those of memory in their
        # place: the store may hold a finished one with late ticks this process never saw, and
        # buckets late ticks opened (between or after the candles in memory: a late tick is
        # one older than the newest seen, which may be an off-hours trade in no candle).
        got = await self.store.get_candles(symbol, interval.name, hi, end, limit)
        rows = _overlay(got, tail, limit)
        if len(rows) >= limit:
            stored = b"[]"
        elif len(rows) > len(tail) and stored != b"[]":  # rare: still the newest ``limit``
            stored = await self.store.candles_json(
                symbol, interval.name, start, hi, limit - len(rows),
                inst.price_scale, inst.qty_scale,
            )  # fmt: skip
            assert stored is not None  # this store has the fast path
        parts = b",".join(orjson.dumps(candle_row(c, inst)) for c in rows)
        return b"[" + parts + b"]" if stored == b"[]" else stored[:-1] + b"," + parts + b"]"

    def _live_tail(
        self, symbol: str, interval: str, start: int | None, end: int | None
    ) -> list[tuple[Candle, bool]]:
        """The candles of ``interval`` in memory, oldest first, each with whether it is the
        current one: the one finished last (the store may not hold it yet) and the current."""
        out: list[tuple[Candle, bool]] = []
        for c, current in (
            (self.live.finished(symbol, interval), False),
            (self.live.current(symbol, interval), True),
        ):
            if c is None or (start is not None and c.start < start):
                continue
            if end is not None and c.start >= end:
                continue
            if out and out[-1][0].start >= c.start:  # not older than the current: superseded
                out.pop()
            out.append((c, current))
        return out

    async def candles(
        self, symbol: str, interval: Interval, start: int | None, end: int | None, limit: int
    ) -> list[Candle]:
        """Stored candles plus the live partial one; other intervals downsampled."""
        if start is not None and end is not None and start >= end:
            raise InvalidRequest("start must be before end")
        symbol = self.instrument(symbol).symbol  # the listing's spelling, as the store has it
        if interval.stored:
            rows = await self.store.get_candles(symbol, interval.name, start, end, limit)
            return _overlay(rows, self._live_tail(symbol, interval.name, start, end), limit)
        base_iv = interval.base
        # Enough base candles for ``limit`` target buckets; the first bucket may be partial
        # and is dropped when the query was cut by the limit.
        if interval.unit == "m":
            ratio = interval.minutes // {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}[base_iv]
        else:
            ratio = 31 if interval.unit == "M" else 7
        want = min(limit * ratio + ratio, 2_000_000)
        hi = None if end is None else _bucket_end(interval, end)
        base = await self.store.get_candles(symbol, base_iv, start, hi, want)
        base = _overlay(base, self._live_tail(symbol, base_iv, start, hi), want)
        out = downsample(base, interval)
        if len(base) >= want and out:
            out = out[1:]
        if start is not None:
            out = [c for c in out if c.start >= start]
        return out[-limit:]


def _bucket_end(interval: Interval, end: int) -> int | None:
    """Where the bucket holding the instant before ``end`` ends: a bucket that starts before
    ``end`` is whole, as a stored interval's candle is. None past year 9999 (no bound)."""
    try:
        return interval.next_bucket(interval.bucket(end - 1))
    except ValueError:  # a KST day or month after 9999-12
        return None


def _overlay(rows: list[Candle], tail: list[tuple[Candle, bool]], limit: int) -> list[Candle]:
    """Stored candles (ascending) with the ones in memory (``_live_tail``) put in their place.
    The current candle is newer than its stored row; a finished one replaces its stored row
    only when it holds more trades (the row was written before the bucket ended), since a
    late tick this process never saw may be in the store's row."""
    for c, current in tail:
        i = len(rows)
        while i > 0 and rows[i - 1].start > c.start:
            i -= 1
        if i > 0 and rows[i - 1].start == c.start:
            if current or c.trades > rows[i - 1].trades:
                rows[i - 1] = c
        else:
            rows.insert(i, c)
    if len(rows) > limit:
        del rows[: len(rows) - limit]
    return rows
