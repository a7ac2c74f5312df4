"""Which symbols clients are watching, from every API process to the ingester, so that sources
with a subscription budget (KIS: 40 per connection) serve those first.

Each API process publishes its subscriber counts on the bus (topic ``watch``) when they change
and every few seconds; the ingester sums the fresh reports and hands the ranking to its sources.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence

import orjson

from aegis.bus.base import Bus, Subscription
from aegis.services.stream import StreamHub
from aegis.sources.base import Source

log = logging.getLogger(__name__)
WATCH = "watch"
EVERY_SECONDS = 2.0
REFRESH_SECONDS = 10.0  # a report is repeated this often even when nothing changed
STALE_SECONDS = 30.0  # a process silent this long no longer counts


def watch_counts(hub: StreamHub) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for sub in hub.subscribers:
        counts.update(sub.symbols | {s for s, _ in sub.candles})
    return dict(counts)


class WatchReporter:
    """API side: publishes this process's watch counts."""

    def __init__(self, bus: Bus, hub: StreamHub) -> None:
        self.bus = bus
        self.hub = hub
        self.proc = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="watch-report")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        last: dict[str, int] | None = None
        sent = 0.0
        while True:
            counts = watch_counts(self.hub)
            now = time.monotonic()
            if counts != last or now - sent > REFRESH_SECONDS:
                payload = {"proc": self.proc, "counts": counts}
                try:
                    await self.bus.publish(WATCH, orjson.dumps(payload))
                    last, sent = counts, now
                except Exception as exc:  # the next round retries
                    log.warning("watch report not published: %s", exc)
            await asyncio.sleep(EVERY_SECONDS)


class WatchCollector:
    """Ingest side: merges the reports and tells the sources."""

    def __init__(self, bus: Bus, sources: Sequence[Source]) -> None:
        self.bus = bus
        self.sources = list(sources)
        self.reports: dict[str, tuple[float, dict[str, int]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.ranking: list[str] = []

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
                try:
                    doc = orjson.loads(payload)
                    counts = {str(k): int(v) for k, v in doc["counts"].items()}
                    self.reports[str(doc["proc"])] = (time.monotonic(), counts)
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    log.warning("ignored a malformed watch report")
        finally:
            await sub.close()

    def merged(self) -> list[str]:
        now = time.monotonic()
        total: Counter[str] = Counter()
        for proc, (seen, counts) in list(self.reports.items()):
            if now - seen > STALE_SECONDS:
                del self.reports[proc]
                continue
            total.update(counts)
        return [s for s, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))]

    async def _apply_loop(self) -> None:
        while True:
            await asyncio.sleep(EVERY_SECONDS)
            ranking = self.merged()
            if ranking == self.ranking:
                continue
            self.ranking = ranking
            for src in self.sources:
                try:
                    await src.watch(ranking)
                except Exception:
                    log.exception("source %s rejected the watch list", src.name)
