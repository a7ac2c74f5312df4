"""Ingest: the single writer. Sources hand it ticks; it drops duplicates, folds candles, batches
writes to the store and publishes each accepted batch on the bus, encoded once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from aegis.aggregator.engine import Aggregator
from aegis.bus.base import TICKS, Bus
from aegis.bus.codec import encode_ticks
from aegis.core.rate import RateWindow
from aegis.core.timeutil import now_us
from aegis.domain.candles import Candle
from aegis.domain.ticks import Tick
from aegis.sources.base import OrderBook
from aegis.store.base import Store

log = logging.getLogger(__name__)


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
    ) -> None:
        self.store = store
        self.bus = bus
        self.aggregator = Aggregator()
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
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0
        self.late = 0
        self.books = 0
        self._rate_window = RateWindow()

    async def start(self) -> None:
        """Continue from what is stored: current candles and the newest tick per symbol."""
        restored: list[Candle] = []
        for iv in self.aggregator.intervals:
            restored.extend(await self.store.latest_candles(iv.name))
        self.aggregator.restore(restored)
        self._task = asyncio.create_task(self._flush_loop(), name="ingest-flush")
        self._publisher = asyncio.create_task(self._publish_loop(), name="ingest-publish")

    async def close(self) -> None:
        for task in (self._task, self._publisher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.flush()

    async def _publish_loop(self) -> None:
        while True:
            payload = await self._outbox.get()
            try:
                await self.bus.publish(TICKS, payload)
            except Exception as exc:  # stored ticks are safe; live clients miss this batch
                self.publish_failures += 1
                log.error("bus publish failed (%d so far): %s", self.publish_failures, exc)

    # --- TickSink ------------------------------------------------------------------------
    async def ticks(self, batch: Sequence[Tick]) -> None:
        if not batch:
            return
        if self.known_symbols is not None:
            known = self.known_symbols
            kept = [t for t in batch if t.symbol in known and t.volume >= 0 and t.price > 0]
            if len(kept) != len(batch):
                self.rejected += len(batch) - len(kept)
                log.warning(
                    "ingest dropped %d ticks with unknown symbols or bad values",
                    len(batch) - len(kept),
                )
            batch = kept
        fresh, late = self.aggregator.add_fresh(batch)
        if fresh:
            self._accept(fresh)
        if late:
            await self._late(late)
        if len(self._pending) >= self.max_pending or self._outbox.qsize() > 10_000:
            await self.flush()  # backpressure: the source waits rather than memory growing

    async def book(self, book: OrderBook) -> None:
        self.books += 1

    def _accept(self, ticks: list[Tick]) -> None:
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.extend(ticks)
        self.accepted += len(ticks)
        self._rate_window.add(len(ticks))
        # one publisher task keeps batches in order on the bus
        self._outbox.put_nowait(encode_ticks(ticks))

    async def _late(self, late: list[Tick]) -> None:
        self.late += len(late)
        async with self._lock:
            await self._flush_locked()
            new = await self.store.write_new_ticks(late)
            self.duplicates += len(late) - len(new)
            if not new:
                return
            need = self.aggregator.late_buckets(new)
            stored: dict[tuple[str, str, int], Candle] = {}
            for sym, interval, start in need:
                c = await self.store.get_candle(sym, interval, start)
                if c is not None:
                    stored[(sym, interval, start)] = c
            touched = self.aggregator.add_late(new, stored)
            await self.store.upsert_candles(touched)
            self.accepted += len(new)
            self._outbox.put_nowait(encode_ticks(new))

    # --- flushing ------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
            except Exception:  # keep ingesting; the batch stays pending and is retried
                log.exception("flush to the store failed; retrying")

    async def flush(self) -> None:
        async with self._lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        ticks, self._pending = self._pending, []
        self._pending_since = None
        candles = self.aggregator.take_dirty()
        try:
            if ticks:
                await self.store.write_ticks(ticks)
            if candles:
                await self.store.upsert_candles(candles)
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
            "rejected": self.rejected,
            "pending": self.pending,
            "publishFailures": self.publish_failures,
            "ticksPerSecond": round(self.ticks_per_second(), 1),
            "lagMs": round(self.lag_ms(), 1),
            "updated": now_us(),
        }
