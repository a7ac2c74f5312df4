"""A scripted source for tests: hands fixed tick batches to the sink, then idles."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aegis.domain.ticks import Tick
from aegis.sources.base import Source, SourceState, TickSink


class ScriptedSource(Source):
    name = "scripted"

    def __init__(self, batches: Sequence[Sequence[Tick]] = ()) -> None:
        super().__init__()
        self.batches = list(batches)
        self.sink: TickSink | None = None
        self.ready = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def run(self, sink: TickSink) -> None:
        self.sink = sink
        self.loop = asyncio.get_running_loop()
        self.set_state(SourceState.LIVE)
        for b in self.batches:
            await sink.ticks(b)
        self.ready.set()
        await asyncio.Event().wait()

    async def push(self, batch: Sequence[Tick]) -> None:
        assert self.sink is not None
        await self.sink.ticks(batch)

    def push_threadsafe(self, batch: Sequence[Tick]) -> None:
        """From another thread (a test driving a server running in its own thread)."""
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(self.push(batch), self.loop).result(10)
