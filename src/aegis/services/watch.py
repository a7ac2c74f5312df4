"""Which symbols clients are watching, from every API process to the ingester, so that sources
with a subscription budget (KIS: 40 per connection) serve those first.

Each API process publishes its watch weights on the bus (topic ``watch``) as soon as a client's
symbols change and every few seconds; the ingester sums the fresh reports and hands the ranking
to its sources. One client's vote is capped: a client watching ``k`` symbols gives each of them
``min(1, votes_per_client / k)``, so a socket subscribing to 200 symbols cannot outvote the
dashboards of everyone else. The operator's configured symbols come before any vote (see
``aegis.sources.common.watchlist``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Sequence

import orjson

from aegis.bus.base import GAP, Bus, Subscription
from aegis.services.stream import StreamHub
from aegis.sources.base import Source

log = logging.getLogger(__name__)
WATCH = "watch"
EVERY_SECONDS = 2.0  # how often stale reports are expired and the ranking re-checked
SETTLE_SECONDS = 0.2  # a burst of subscription changes is reported once
REFRESH_SECONDS = 10.0  # a report is repeated this often even when nothing changed
STALE_SECONDS = 30.0  # a process silent this long no longer counts
VOTES_PER_CLIENT = 10.0


def watch_counts(hub: StreamHub, votes_per_client: float = VOTES_PER_CLIENT) -> dict[str, float]:
    weights: dict[str, float] = {}
    for sub in hub.subscribers:
        symbols = sub.symbols | {s for s, _ in sub.candles}
        if not symbols:
            continue
        vote = min(1.0, votes_per_client / len(symbols))
        for s in symbols:
            weights[s] = weights.get(s, 0.0) + vote
    return {s: round(w, 6) for s, w in weights.items()}


class WatchReporter:
    """API side: publishes this process's watch weights."""

    def __init__(
        self, bus: Bus, hub: StreamHub, votes_per_client: float = VOTES_PER_CLIENT
    ) -> None:
        self.bus = bus
        self.hub = hub
        self.votes_per_client = votes_per_client
        self.proc = uuid.uuid4().hex
        self.published = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="watch-report")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        last: dict[str, float] | None = None
        counts: dict[str, float] | None = None
        sent = 0.0
        changed = self.hub.watch_changed
        while True:
            # recounted only when a client's symbols changed: with 1,000 clients a count walks
            # every subscription (milliseconds of the event loop every round otherwise)
            if counts is None or changed.is_set():
                changed.clear()
                counts = watch_counts(self.hub, self.votes_per_client)
            now = time.monotonic()
            if (counts is not last and counts != last) or now - sent > REFRESH_SECONDS:
                payload = {"proc": self.proc, "counts": counts}
                try:
                    await self.bus.publish(WATCH, orjson.dumps(payload))
                    last, sent = counts, now
                    self.published += 1
                except Exception as exc:  # the next round retries
                    log.warning("watch report not published: %s", exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(EVERY_SECONDS):
                    await changed.wait()
                await asyncio.sleep(SETTLE_SECONDS)


class WatchCollector:
    """Ingest side: merges the reports and tells the sources."""

    def __init__(self, bus: Bus, sources: Sequence[Source]) -> None:
        self.bus = bus
        self.sources = list(sources)
        self.reports: dict[str, tuple[float, dict[str, float]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._received = asyncio.Event()
        self.ranking: list[str] = []
        self.applied = 0

    async def start(self) -> None:
        sub = await self.bus.subscribe(WATCH, maxsize=1000)
        self._tasks = [
            asyncio.create_task(self._read(sub), name="watch-read"),
            asyncio.create_task(self._apply_loop(), name="watch-apply"),
        ]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def _read(self, sub: Subscription) -> None:
        try:
            async for payload in sub:
                if payload == GAP:
                    continue  # each report is a process's whole state: a lost one is outdated
                try:
                    doc = orjson.loads(payload)
                    counts = {str(k): float(v) for k, v in doc["counts"].items()}
                    if not all(math.isfinite(v) and v >= 0 for v in counts.values()):
                        raise ValueError("weights must be finite and non-negative")
                    self.reports[str(doc["proc"])] = (time.monotonic(), counts)
                    self._received.set()
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                    log.warning("ignored a malformed watch report")
        finally:
            await sub.close()

    def _expire(self) -> bool:
        """Drop the reports of processes silent too long; True if any was dropped."""
        now = time.monotonic()
        stale = [p for p, (seen, _) in self.reports.items() if now - seen > STALE_SECONDS]
        for proc in stale:
            del self.reports[proc]
        return bool(stale)

    def merged(self) -> list[str]:
        now = time.monotonic()
        total: dict[str, float] = {}
        for proc, (seen, counts) in list(self.reports.items()):
            if now - seen > STALE_SECONDS:
                del self.reports[proc]
                continue
            for s, w in counts.items():
                total[s] = total.get(s, 0.0) + w
        return [s for s, w in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])) if w > 0]

    async def _apply_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(EVERY_SECONDS):
                    await self._received.wait()
            received = self._received.is_set()
            self._received.clear()
            if not received and not self._expire():
                continue  # nothing new: the ranking (a sort of every watched symbol) stands
            ranking = self.merged()
            if ranking == self.ranking:
                continue
            self.ranking = ranking
            self.applied += 1
            for src in self.sources:
                try:
                    await src.watch(ranking)
                except Exception:
                    log.exception("source %s rejected the watch list", src.name)
