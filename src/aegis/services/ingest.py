"""Ingest: the single writer. Sources hand it ticks; it drops duplicates, folds candles, batches
writes to the store and publishes each accepted batch on the bus, encoded once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from aegis.aggregator.batch import CandleTable
from aegis.aggregator.engine import Aggregator, BulkFold
from aegis.bus.base import GAP, TICKS, Bus
from aegis.bus.codec import decode_ticks, encode_ticks
from aegis.core.rate import RateWindow
from aegis.core.timeutil import now_us
from aegis.domain.candles import Candle
from aegis.domain.tick_arrays import TickArrays
from aegis.domain.ticks import Tick
from aegis.services.journal import TickJournal
from aegis.services.leader import LeadershipLost
from aegis.sources.base import OrderBook
from aegis.store.base import Store, TickColumns

log = logging.getLogger(__name__)

PUBLISH_BACKOFF_S = 0.05
PUBLISH_BACKOFF_MAX_S = 2.0
HISTORY_CANDLES_PER_WRITE = 50_000
BULK_WRITE_TICKS = 100_000  # parameters of a bulk batch's ticks are built this many at a time
DRAIN_S = 10.0  # at shutdown, how long the last batches may take to reach the bus
MAX_OUTBOX = 20_000  # tick batches kept for the bus while it is down (≈ 3 h at 2 batches/s)


class IngestService:
    """Implements ``TickSink`` for sources."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        *,
        flush_seconds: float = 0.5,
        max_pending: int = 500_000,
        known_symbols: set[str] | None = None,
        journal: TickJournal | None = None,
        krx_symbols: frozenset[str] = frozenset(),
        fence: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.journal = journal
        # awaited before each store write and bus publish: returns while this process leads,
        # raises (LeadershipLost) once it does not (e.g. it resumed after a pause)
        self._fence = fence
        self.replayed = 0
        # KRX off-hours trades are stored and published, in no candle (``krx.off_hours``)
        self.aggregator = Aggregator(off_hours=krx_symbols)
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.known_symbols = known_symbols
        self._pending: list[Tick] = []
        self._pending_since: float | None = None
        self._lock = asyncio.Lock()  # one flush at a time; late ticks wait for it
        self._task: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.publish_failures = 0
        self.publish_dropped = 0
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0
        self.late = 0
        self.books = 0
        self.bulk_ticks = 0
        self._rate_window = RateWindow()

    async def start(self) -> None:
        """Continue from what is stored: current candles and the newest tick per symbol."""
        restored: list[Candle] = []
        for iv in self.aggregator.intervals:
            restored.extend(await self.store.latest_candles(iv.name))
        self.aggregator.restore(restored)
        self._publisher = asyncio.create_task(self._publish_loop(), name="ingest-publish")
        if self.journal is not None:
            await self._replay_journal(self.journal)
        self._task = asyncio.create_task(self._flush_loop(), name="ingest-flush")

    def resume_point(self) -> tuple[int, dict[str, Candle]] | None:
        """Where a restarted source goes on from: the newest stored trade in a candle and each
        symbol's newest 1d candle (today's volume so far); None when nothing is stored."""
        agg = self.aggregator
        latest = max((st.last_ts for st in agg.state.values()), default=None)
        if latest is None:
            return None
        return latest, {s: c for s in agg.state if (c := agg.day_candle(s)) is not None}

    async def _replay_journal(self, journal: TickJournal) -> None:
        """Ticks a previous run accepted (and maybe showed to clients) but had not stored."""
        left = journal.open()
        for payload in journal.replay(left):
            _published, batch = decode_ticks(payload)
            # only what is newer than everything stored: older ones are either stored already
            # or were overtaken by another ingester that led meanwhile (its history wins)
            fresh, _late = self.aggregator.add_fresh(batch)
            if fresh:
                self.replayed += len(fresh)
                self._accept(fresh)
        await self.flush()
        if left:
            journal.drop_through(left[-1])
            log.info("replayed %d ticks from the journal of the previous run", self.replayed)

    async def close(self) -> None:
        if self._task is not None:
            # not in the middle of a flush: cancelled there, its write would complete in the
            # store's thread anyway and its ticks be written again by the last flush below
            async with self._lock:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
            # the last batches reach the bus too: API processes' live candles end equal to the
            # store's (bounded: a bus that is down does not hold the shutdown)
            await self._drain_outbox(DRAIN_S)
        except LeadershipLost:
            log.warning("stopped without a last flush: this process no longer leads")
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
        if self.journal is not None:
            self.journal.close()

    async def _drain_outbox(self, seconds: float) -> None:
        if self._publisher is None or self._publisher.done():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), seconds)

    def abandon(self) -> None:
        """Stop without writing again (this process lost the ingest lock): pending ticks are
        dropped; the new leader resumes from what is stored."""
        for task in (self._task, self._publisher):
            if task is not None:
                task.cancel()
        self._pending.clear()
        if self.journal is not None:
            self.journal.close()  # kept on disk: replayed when this process leads again

    async def _publish_loop(self) -> None:
        while True:
            payload = await self._outbox.get()
            if self._fence is not None:
                try:
                    await self._fence()
                except LeadershipLost:
                    return  # not one more tick on the bus; the runtime abandons this service
            backoff = PUBLISH_BACKOFF_S
            while True:  # the same batch until the bus takes it: order is kept, none skipped
                try:
                    await self.bus.publish(TICKS, payload)
                    break
                except Exception as exc:
                    self.publish_failures += 1
                    if self.publish_failures == 1 or self.publish_failures % 100 == 0:
                        log.error("bus publish failed (%d so far): %s", self.publish_failures, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, PUBLISH_BACKOFF_MAX_S)
                    if self._outbox.qsize() >= MAX_OUTBOX:
                        # a long outage: give up this batch and the oldest waiting ones; the
                        # bus tells subscribers of the gap, and they refill from the store
                        dropped = 1
                        while self._outbox.qsize() > MAX_OUTBOX // 2:
                            self._outbox.get_nowait()
                            self._outbox.task_done()
                            dropped += 1
                        self.bus.skip(TICKS, dropped)
                        self.publish_dropped += dropped
                        log.error("bus down too long: %d tick batches not published", dropped)
                        break
            self._outbox.task_done()

    # --- TickSink ------------------------------------------------------------------------
    def _valid(self, batch: Sequence[Tick]) -> Sequence[Tick]:
        if self.known_symbols is None:
            return batch
        known = self.known_symbols
        kept = [t for t in batch if t.symbol in known and t.volume >= 0 and t.price > 0]
        if len(kept) != len(batch):
            self.rejected += len(batch) - len(kept)
            log.warning(
                "ingest dropped %d ticks with unknown symbols or bad values", len(batch) - len(kept)
            )
        return kept

    async def ticks(self, batch: Sequence[Tick]) -> None:
        if not batch:
            return
        batch = self._valid(batch)
        fresh, late = self.aggregator.add_fresh(batch)
        if fresh:
            self._accept(fresh)
        if late:
            await self._late(late)
        if len(self._pending) >= self.max_pending or self._outbox.qsize() > 10_000:
            await self.flush()  # backpressure: the source waits rather than memory growing

    async def book(self, book: OrderBook) -> None:
        self.books += 1

    async def bulk(self, batch: Sequence[Tick]) -> None:
        """``bulk_columns`` of ticks given one by one (of one source)."""
        if batch:
            await self.bulk_columns(TickArrays.from_ticks(batch))

    async def bulk_columns(self, batch: TickArrays) -> None:
        """A large batch of generated history (the simulator's morning when it starts in the
        middle of a session): stored at once, candles folded with numpy, instead of tick by
        tick through the live path and the bus (which took minutes for a whole market). The
        bus carries a :data:`GAP` instead of the ticks: stream hubs rebuild their live state
        from the store, where the batch already is. Ticks not newer than what was seen of their
        symbol take the normal path."""
        batch = self._valid_columns(batch)
        if not len(batch):
            return
        async with self._lock:
            await self._flush_locked()  # everything earlier is stored first
            folded = self.aggregator.split_bulk(batch)
            n = len(folded.ticks)
            if n:
                await self._store_bulk(folded)
                self.aggregator.apply_bulk(folded)  # only once stored: a failure changes nothing
                self.accepted += n
                self.bulk_ticks += n
                self._rate_window.add(n)
                self._outbox.put_nowait(GAP)  # in order after the batches published before
        if folded.rest:
            await self.ticks(folded.rest)

    async def _store_bulk(self, folded: BulkFold) -> None:
        # Ticks and candles in one transaction (SQLite): a failure stores neither. Not in
        # pieces overlapped with the folding: the writer thread then waits for the GIL at
        # every statement and the whole takes twice as long.
        candles = self.aggregator.fold_bulk(folded)
        await self.store.import_ticks(_ArrayRows(folded.ticks), candles, chunk=BULK_WRITE_TICKS)

    def _valid_columns(self, batch: TickArrays) -> TickArrays:
        if self.known_symbols is None:
            return batch
        known = np.array([s in self.known_symbols for s in batch.names], dtype=bool)
        ok = known[batch.code] & (batch.volume >= 0) & (batch.price > 0)
        if ok.all():
            return batch
        bad = len(ok) - int(ok.sum())
        self.rejected += bad
        log.warning("ingest dropped %d ticks with unknown symbols or bad values", bad)
        return batch.take(ok)

    async def history_candles(self, candles: Sequence[Candle]) -> None:
        """Finished candles of past sessions (no ticks kept), stored as they are; they replace
        stored ones of the same buckets. Live state holds current buckets only: unchanged."""
        if isinstance(candles, CandleTable):  # columns: sliced and written as columns
            for part in candles.parts:
                if self.known_symbols is not None:
                    known = np.array([s in self.known_symbols for s in part.names], dtype=bool)
                    part = part.take(known[part.code])
                for i in range(0, len(part), HISTORY_CANDLES_PER_WRITE):
                    piece = CandleTable([part.take(slice(i, i + HISTORY_CANDLES_PER_WRITE))])
                    async with self._lock:
                        await self.store.upsert_candles(piece)
            return
        if self.known_symbols is not None:
            candles = [c for c in candles if c.symbol in self.known_symbols]
        for i in range(0, len(candles), HISTORY_CANDLES_PER_WRITE):
            async with self._lock:  # in slices: live flushes are not held up for long
                await self.store.upsert_candles(candles[i : i + HISTORY_CANDLES_PER_WRITE])

    def _accept(self, ticks: list[Tick]) -> None:
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.extend(ticks)
        self.accepted += len(ticks)
        self._rate_window.add(len(ticks))
        payload = encode_ticks(ticks, keep=self.bus.in_process)
        if self.journal is not None:
            self.journal.append(payload)  # before anyone sees it: a kill -9 cannot lose it
        # one publisher task keeps batches in order on the bus
        self._outbox.put_nowait(payload)

    async def _late(self, late: list[Tick]) -> None:
        self.late += len(late)
        async with self._lock:
            await self._flush_locked()  # what is stored is what the check below sees
            new = await self._unstored(late)
            self.duplicates += len(late) - len(new)
            if not new:
                return
            need = self.aggregator.late_buckets(new)
            stored: dict[tuple[str, str, int], Candle] = {}
            for sym, interval, start in need:
                c = await self.store.get_candle(sym, interval, start)
                if c is not None:
                    stored[(sym, interval, start)] = c
            for c in self.aggregator.add_late(new, stored):
                self.aggregator.mark_dirty(c)
            # The ticks and every candle they moved in one transaction, as any flush: stored
            # apart, a kill -9 between the two left ticks that no candle counts, and no
            # restart could tell (a gap fill sees them stored and skips them).
            self._pending.extend(new)
            await self._flush_locked()
            self.accepted += len(new)
            self._outbox.put_nowait(encode_ticks(new, keep=self.bus.in_process))

    async def _unstored(self, ticks: list[Tick]) -> list[Tick]:
        """``ticks`` not in the store, each once, in the given order."""
        spans: dict[str, tuple[int, int]] = {}
        for t in ticks:
            lo, hi = spans.get(t.symbol, (t.ts, t.ts))
            spans[t.symbol] = (min(lo, t.ts), max(hi, t.ts))
        seen = await self.store.stored_keys(spans)
        new: list[Tick] = []
        for t in ticks:
            keys = seen[t.symbol]
            if (t.ts, t.seq) not in keys:
                keys.add((t.ts, t.seq))
                new.append(t)
        return new

    # --- flushing ------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
            except LeadershipLost:
                return  # the runtime abandons this service
            except Exception:  # keep ingesting; the batch stays pending and is retried
                log.exception("flush to the store failed; retrying")

    async def flush(self) -> None:
        async with self._lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        if self._fence is not None:
            await self._fence()
        ticks, self._pending = self._pending, []
        self._pending_since = None
        candles = self.aggregator.take_dirty()
        journaled = self.journal.rotate() if self.journal is not None and ticks else None
        try:
            if ticks or candles:
                await self.store.write_flush(ticks, candles)
            if journaled is not None and self.journal is not None:
                self.journal.drop_through(journaled)
        except BaseException:
            # nothing is lost: put the ticks back; dirty candles are re-marked
            self._pending = ticks + self._pending
            for c in candles:
                self.aggregator.mark_dirty(c)
            raise

    # --- status --------------------------------------------------------------------------
    def ticks_per_second(self) -> float:
        return self._rate_window.per_second()

    @property
    def pending(self) -> int:
        """Ticks accepted but not yet in the store."""
        return len(self._pending)

    def lag_ms(self) -> float:
        """Age of the oldest tick not yet in the store."""
        if self._pending_since is None:
            return 0.0
        return (time.monotonic() - self._pending_since) * 1000

    def describe(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "late": self.late,
            "bulk": self.bulk_ticks,
            "rejected": self.rejected,
            "pending": self.pending,
            "publishFailures": self.publish_failures,
            "publishDropped": self.publish_dropped,
            "ticksPerSecond": round(self.ticks_per_second(), 1),
            "lagMs": round(self.lag_ms(), 1),
            "updated": now_us(),
        }


class _ArrayRows:
    """A bulk batch as the store reads it (``TickRows``): each slice's Python lists are built
    when the store asks for it. A whole session's batch as lists at once took ~0.8 GB."""

    def __init__(self, batch: TickArrays) -> None:
        self.batch = batch
        self.source = batch.source
        self._names = np.array(batch.names, dtype=object)

    def __len__(self) -> int:
        return len(self.batch)

    def rows(self, lo: int, hi: int) -> TickColumns:
        b = self.batch
        return TickColumns(
            self._names[b.code[lo:hi]].tolist(), b.ts[lo:hi].tolist(), b.price[lo:hi].tolist(),
            b.volume[lo:hi].tolist(), b.side[lo:hi].tolist(), b.seq[lo:hi].tolist(), b.source,
        )  # fmt: skip
