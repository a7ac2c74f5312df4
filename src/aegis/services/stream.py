"""The stream hub of an API process: takes tick batches off the bus, keeps live quotes and
candles, and fans each message out to subscribed clients. A message is serialized once, whatever
the number of clients; a slow client never delays the others (see ``ClientChannel``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import orjson

from aegis.bus.base import GAP, TICKS, Bus, Subscription
from aegis.bus.codec import decode_ticks
from aegis.core.rate import RateWindow
from aegis.core.timeutil import iso_z, now_us
from aegis.domain.candles import Candle
from aegis.domain.intervals import Interval
from aegis.domain.ticks import Tick
from aegis.services.clients import ClientChannel
from aegis.services.gapfill import GapFill
from aegis.services.market import Market, candle_row, quote_row

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscriber:
    """A connected client (WebSocket or SSE) as the hub sees it."""

    channel: ClientChannel
    on_slow: Callable[[], None]
    symbols: set[str] = field(default_factory=set)
    candles: set[tuple[str, str]] = field(default_factory=set)  # (symbol, interval)
    quotes: bool = False
    kind: str = "websocket"

    def symbol_count(self) -> int:
        return len(self.symbols | {s for s, _ in self.candles})


def tick_message(t: Tick, market: Market) -> dict[str, object] | None:
    """The ``tick`` message of ``t`` (None for a symbol this process does not list)."""
    inst = market.by_symbol.get(t.symbol)
    if inst is None:
        return None
    prev = market.live.prev_day_close(t.symbol)
    if prev is None:
        prev = inst.prev_close
    change = None if prev is None else t.price - prev
    return {
        "type": "tick",
        "symbol": t.symbol,
        "price": inst.price_value(t.price),
        "volume": inst.qty_value(t.volume),
        "change": None if change is None else inst.price_value(change),
        "changePercent": None if not prev or change is None else round(change * 100 / prev, 2),
        "timestamp": iso_z(t.ts),
        "source": t.source,
    }


# After a gap on the bus, the live state is rebuilt from the store once the ticks of the gap
# are surely stored (ingest flushes every 0.5 s).
RESYNC_DELAY_S = 1.5
RECENT_S = 10.0  # how far back the hub keeps batches to re-apply after a rebuild


class StreamHub:
    def __init__(
        self,
        bus: Bus,
        market: Market,
        resync: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.bus = bus
        self.market = market
        self._resync = resync
        self._resync_at: float | None = None
        self._recent: deque[tuple[float, Sequence[Tick]]] = deque()  # for a rebuild
        # symbols whose live state came from the store and which this hub has not yet seen a
        # tick newer than that of: a late tick of theirs is one the store already counted
        self._fenced: set[str] = set()
        self.gaps = 0
        self.resyncs = 0
        self._last: dict[str, Tick] = {}  # the newest tick delivered per symbol
        self.gapfill = GapFill()  # clients refilled from the store after a gap
        self._fill_wake = asyncio.Event()
        self.subscribers: set[Subscriber] = set()
        self._by_symbol: dict[str, set[Subscriber]] = defaultdict(set)
        self._by_candle: dict[tuple[str, str], set[Subscriber]] = defaultdict(set)
        self._derived: dict[tuple[str, str], Candle] = {}  # live candles of non-stored intervals
        self._derived_of: dict[str, set[str]] = defaultdict(set)  # symbol → derived intervals
        self._intervals: dict[str, Interval] = {}
        self._quote_subs: set[Subscriber] = set()
        self._changed: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty: list[ClientChannel] = []  # channels to flush at the end of a batch
        self._later: list[ClientChannel] = []  # channels flushed too recently: on a timer
        self._later_timer: asyncio.TimerHandle | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self.ticks_in = 0
        self.messages_out = 0
        self.lag_ms = 0.0
        self._rate = RateWindow()
        # set when any client's symbols change: the watch reporter tells the ingester at once
        self.watch_changed = asyncio.Event()
        # other consumers of the decoded batches (trading): one decode per process
        self.batch_listeners: list[Callable[[Sequence[Tick]], None]] = []

    async def start(self) -> None:
        sub = await self.bus.subscribe(TICKS, maxsize=100_000)
        self._tasks.append(asyncio.create_task(self._consume(sub), name="hub-consume"))
        self._tasks.append(asyncio.create_task(self._quotes_loop(), name="hub-quotes"))
        self._tasks.append(asyncio.create_task(self._fill_loop(), name="hub-gapfill"))

    async def close(self) -> None:
        if self._later_timer is not None:
            self._later_timer.cancel()
            self._later_timer = None
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for s in list(self.subscribers):
            s.channel.close()

    async def _consume(self, sub: Subscription) -> None:
        try:
            async for payload in sub:
                if payload == GAP:
                    # ticks were lost on the way: live candles and quotes are rebuilt from the
                    # store a little later, when the lost ticks are surely stored
                    self.gaps += 1
                    self.gapfill.open(self._by_symbol, self._last, (b for _, b in self._recent))
                    self._resync_at = time.monotonic() + RESYNC_DELAY_S
                    continue
                if self._resync_at is not None and time.monotonic() >= self._resync_at:
                    self._resync_at = None
                    await self._rebuild()
                    self._broadcast(b'{"type":"resynced"}', "resynced")
                    self._fill_wake.set()
                try:
                    published, ticks = decode_ticks(payload)
                except Exception:
                    log.exception("undecodable tick batch on the bus; skipped")
                    continue
                self.on_ticks(ticks, published)
        finally:
            await sub.close()

    async def _rebuild(self) -> None:
        if self._resync is None:
            return
        try:
            await self._resync()  # nothing else runs on_ticks meanwhile: this loop is the caller
            self.resyncs += 1
        except Exception:
            log.exception("rebuilding live state from the store failed")
            return
        # Usually the store ends a flush or so behind what this hub has seen: re-apply the recent
        # ticks newer than it (older ones are in the store, and the aggregator drops them as
        # late). After a bus outage the store can be ahead instead, with the ingester's backlog
        # still on its way here: until a symbol's first tick newer than the store arrives, its
        # older ticks are in the stored candles already and must not be added again.
        live = self.market.live
        self._fenced = set(live.state)
        for _, ticks in self._recent:
            fresh, _late = live.add_fresh(ticks)
            self._fenced.difference_update(t.symbol for t in fresh)
        live.discard_changes()
        # the live candles of intervals not stored missed the lost ticks too: read them again
        # from the rebuilt state (nothing runs on_ticks meanwhile)
        for sym, iv_name in list(self._derived):
            rows = await self.market.candles(sym, self._intervals[iv_name], None, None, 1)
            if rows:
                self._derived[(sym, iv_name)] = rows[-1]

    async def _fill_loop(self) -> None:
        while True:
            await self._fill_wake.wait()
            self._fill_wake.clear()
            while self.gapfill.pending:
                await self._backfill()
                if self.gapfill.pending:  # not all in the store yet: a little later
                    await asyncio.sleep(max(RESYNC_DELAY_S / 3, 0.1))

    async def _backfill(self) -> None:
        """Send each client the stored ticks it missed in the gap (one ``backfill`` message per
        symbol, in time order)."""
        fill = self.gapfill
        store = self.market.store
        if store is None:  # nothing to read back from
            fill.pending.clear()
            return
        try:
            refills = await fill.fill(store)
        except Exception:
            log.exception("reading the ticks lost in a gap back from the store failed")
            refills = []
        for r in refills:
            subs = r.subs & self._by_symbol.get(r.symbol, set())
            if not subs:
                continue
            rows = [m for m in (tick_message(t, self.market) for t in r.ticks) if m is not None]
            payload = orjson.dumps({"type": "backfill", "symbol": r.symbol, "ticks": rows})
            key = "b:" + r.symbol
            for s in subs:
                s.channel.offer(key, payload)
                if s.channel.slow:
                    s.on_slow()
            self.messages_out += len(subs)
        self._flush()

    def _broadcast(self, payload: bytes, key: str) -> None:
        for s in list(self.subscribers):
            s.channel.offer(key, payload)
            if s.channel.slow:
                s.on_slow()
        self._flush()

    # --- the broadcast -------------------------------------------------------------------
    def on_ticks(self, ticks: Sequence[Tick], published_us: int | None = None) -> None:
        market = self.market
        live = market.live
        now_m = time.monotonic()
        self._recent.append((now_m, ticks))
        while self._recent and now_m - self._recent[0][0] > RECENT_S:
            self._recent.popleft()
        if self.gapfill.pending:
            self.gapfill.note(ticks)
        fresh, late = live.add_fresh(ticks)
        counted = ticks  # the ticks in the live candles: the derived ones take the same
        if self._fenced:
            fenced = self._fenced
            if late:
                kept = [t for t in late if t.symbol not in fenced]
                if len(kept) < len(late):  # in the stored candles the rebuild read already
                    dropped = {id(t) for t in late if t.symbol in fenced}
                    counted = [t for t in ticks if id(t) not in dropped]
                late = kept
            fenced.difference_update(t.symbol for t in fresh)
        if late:
            live.add_late(late, {})  # only the current buckets matter here
        live.discard_changes()  # the hub never writes
        by_symbol = self._by_symbol
        last_source = market.last_source
        touched: dict[str, Tick] = {}
        for t in ticks:
            last_source[t.symbol] = t.source
            touched[t.symbol] = t
            subs = by_symbol.get(t.symbol)
            if not subs:
                continue
            msg = tick_message(t, market)
            if msg is None:
                continue
            payload = orjson.dumps(msg)
            key = t.symbol
            for s in subs:
                s.channel.offer(key, payload)
                if s.channel.slow:
                    s.on_slow()
            self.messages_out += len(subs)
        self._changed.update(touched)
        self._last.update(touched)
        if self._by_candle:
            self._send_candles(counted, touched)
        self._flush()
        n = len(ticks)
        self.ticks_in += n
        now = time.monotonic()
        self._rate.add(n, now)
        if published_us is not None:
            self.lag_ms = (now_us() - published_us) / 1000
        for listener in self.batch_listeners:
            listener(ticks)

    def _flush(self) -> None:
        """One frame per client for everything this batch gave it (clients that write
        directly; the others' writer tasks were woken by ``offer``). A client whose last frame
        left too recently (a burst of batches) is flushed by one timer for all such clients."""
        dirty = self._dirty
        if dirty:
            self._flush_channels(dirty)
            dirty.clear()

    def _flush_channels(self, channels: list[ClientChannel]) -> None:
        now = time.monotonic()
        later = self._later
        soonest: float | None = None
        for ch in channels:
            wait = ch.flush_direct(now)
            if wait is not None:
                later.append(ch)
                if soonest is None or wait < soonest:
                    soonest = wait
        if soonest is not None and self._later_timer is None:
            loop = asyncio.get_running_loop()
            self._later_timer = loop.call_later(soonest, self._flush_later)

    def _flush_later(self) -> None:
        self._later_timer = None
        channels, self._later = self._later, []
        self._flush_channels(channels)

    def _send_candles(self, ticks: Sequence[Tick], touched: dict[str, Tick]) -> None:
        derived_of = self._derived_of
        live = self.market.live
        for t in ticks:
            names = derived_of.get(t.symbol)
            if not names or live.passed_through(t):  # off-hours trades are in no candle
                continue
            for iv_name in names:
                at = (t.symbol, iv_name)
                dc = self._derived.get(at)
                start = self._intervals[iv_name].bucket(t.ts)
                if dc is None or start > dc.start:  # the symbol's first candle, or a new bucket
                    self._derived[at] = Candle.from_tick(iv_name, start, t)
                elif start == dc.start:
                    dc.add(t)
        for (sym, iv_name), subs in self._by_candle.items():
            if sym not in touched or not subs:
                continue
            c = self._derived.get((sym, iv_name)) or self.market.live.current(sym, iv_name)
            if c is None:
                continue
            row = candle_row(c, self.market.by_symbol[sym])
            payload = orjson.dumps({**row, "type": "candle", "symbol": sym, "interval": iv_name})
            key = f"c:{iv_name}:{sym}"
            for s in subs:
                s.channel.offer(key, payload)
                if s.channel.slow:
                    s.on_slow()
            self.messages_out += len(subs)

    def heartbeat(self, every: float) -> None:
        """Application pings to every WebSocket client each ``every`` seconds (browsers measure
        latency with them), from one task for all: not a sleeping task per connection."""
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._ping_loop(every), name="hub-heartbeat")
            self._tasks.append(self._heartbeat)

    async def _ping_loop(self, every: float) -> None:
        # Dead peers are found by the protocol-level ping/pong that uvicorn runs
        # (ws_ping_interval / ws_ping_timeout); this one is for the application.
        while True:
            await asyncio.sleep(every)
            for s in list(self.subscribers):
                if s.kind == "websocket":
                    s.channel.control(b'{"type":"ping"}', key="ping")

    async def _quotes_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if not self._quote_subs or not self._changed:
                self._changed.clear()
                continue
            changed, self._changed = self._changed, set()
            rows = [quote_row(q) for q in self.market.quotes(sorted(changed))]
            payload = orjson.dumps({"type": "quotes", "data": rows})
            for s in list(self._quote_subs):
                s.channel.offer("quotes", payload)
                if s.channel.slow:
                    s.on_slow()
            self._flush()

    # --- subscriptions -------------------------------------------------------------------
    def add(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)
        sub.channel.dirty = self._dirty

    def remove(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        for s in sub.symbols:
            self._by_symbol[s].discard(sub)
        for key in list(sub.candles):
            self._drop_candle_sub(sub, key)
        self._quote_subs.discard(sub)
        sub.channel.close()
        self.watch_changed.set()

    def subscribe_ticks(self, sub: Subscriber, symbols: Sequence[str]) -> None:
        for s in symbols:
            sub.symbols.add(s)
            self._by_symbol[s].add(sub)
        self.watch_changed.set()

    def unsubscribe_ticks(self, sub: Subscriber, symbols: Sequence[str]) -> None:
        for s in symbols:
            sub.symbols.discard(s)
            self._by_symbol[s].discard(sub)
        self.watch_changed.set()

    async def subscribe_candles(
        self, sub: Subscriber, symbols: Sequence[str], iv: Interval
    ) -> None:
        for s in symbols:
            key = (s, iv.name)
            if not iv.stored and iv.name not in self._derived_of.get(s, ()):
                self._intervals[iv.name] = iv
                # no await between this read's live part and the registration below: no tick
                # can fall between them
                rows = await self.market.candles(s, iv, None, None, 1)
                if rows:
                    self._derived[key] = rows[-1]
                # a symbol that has not traded yet starts its candle with its first tick
                self._derived_of[s].add(iv.name)
            sub.candles.add(key)
            self._by_candle[key].add(sub)
        self.watch_changed.set()

    def unsubscribe_candles(self, sub: Subscriber, symbols: Sequence[str], iv: Interval) -> None:
        for s in symbols:
            self._drop_candle_sub(sub, (s, iv.name))
        self.watch_changed.set()

    def _drop_candle_sub(self, sub: Subscriber, key: tuple[str, str]) -> None:
        sub.candles.discard(key)
        subs = self._by_candle.get(key)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_candle[key]
                self._derived.pop(key, None)
                names = self._derived_of.get(key[0])
                if names is not None:
                    names.discard(key[1])

    def subscribe_quotes(self, sub: Subscriber, on: bool) -> None:
        sub.quotes = on
        if on:
            self._quote_subs.add(sub)
        else:
            self._quote_subs.discard(sub)

    # --- status --------------------------------------------------------------------------
    def ticks_per_second(self) -> float:
        return self._rate.per_second()

    def client_counts(self) -> dict[str, int]:
        counts = {"websocket": 0, "sse": 0}
        for s in self.subscribers:
            counts[s.kind] = counts.get(s.kind, 0) + 1
        return counts
