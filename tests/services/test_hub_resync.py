"""A gap on the bus makes the stream hub rebuild its live state from the store (once the lost
ticks are surely stored), before it goes on with the next batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from aegis.aggregator.engine import Aggregator
from aegis.bus.base import GAP, TICKS
from aegis.bus.codec import encode_ticks
from aegis.bus.memory import MemoryBus
from aegis.domain.ticks import BUY, Tick
from aegis.reference import load_instruments
from aegis.services import stream
from aegis.services.market import Market
from aegis.services.stream import StreamHub
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

WAIT_S = 15.0


async def test_a_gap_rebuilds_live_state_before_the_next_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream, "RESYNC_DELAY_S", 0.0)
    order: list[str] = []
    bus = MemoryBus()
    await bus.start()
    market = Market(store=None, instruments=load_instruments())  # type: ignore[arg-type]

    async def resync() -> None:
        order.append("resync")

    hub = StreamHub(bus, market, resync=resync)
    seen = asyncio.Event()
    real_on_ticks = hub.on_ticks

    def on_ticks(ticks: object, published_us: int | None = None) -> None:
        order.append("ticks")
        real_on_ticks(ticks, published_us)  # type: ignore[arg-type]
        seen.set()

    monkeypatch.setattr(hub, "on_ticks", on_ticks)
    await hub.start()
    try:
        await bus.publish(TICKS, GAP)
        await bus.publish(
            TICKS, encode_ticks([Tick("005930", 1_764_640_800_000_000, 70_000, 1, BUY, 1, "sim")])
        )
        await asyncio.wait_for(seen.wait(), WAIT_S)
        assert order == ["resync", "ticks"]
        assert (hub.gaps, hub.resyncs) == (1, 1)
    finally:
        await hub.close()
        await bus.close()


T0 = 1_764_640_800_000_000  # 2025-12-02 00:00 UTC (09:00 KST)


def tick(i: int) -> Tick:
    return Tick("005930", T0 + i * 1_000_000, 70_000 + i, 10 + i, BUY, i, "sim")


async def test_a_rebuild_from_a_store_ahead_of_the_bus_counts_no_tick_twice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After a Redis outage the ingester has stored ticks whose batches are still on their way
    to this hub: when they arrive after the rebuild, they are in the stored candles already."""
    monkeypatch.setattr(stream, "RESYNC_DELAY_S", 0.0)
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    writer = Aggregator()  # the ingester's: ticks 0..99 are stored
    writer.add_fresh([tick(i) for i in range(100)])
    await store.upsert_candles(writer.take_dirty())

    bus = MemoryBus()
    await bus.start()
    market = Market(store, load_instruments())
    hub = StreamHub(bus, market, resync=lambda: market.restore_live(anew=True))
    await hub.start()
    try:
        hub.on_ticks([tick(i) for i in range(50)])  # what reached this hub before the outage
        await bus.publish(TICKS, GAP)
        await bus.publish(TICKS, encode_ticks([tick(i) for i in range(50, 120)]))  # the backlog
        await bus.publish(TICKS, encode_ticks([tick(120)]))
        await _until(lambda: hub.ticks_in == 50 + 71)
        day = market.live.day_candle("005930")
        assert day is not None
        assert hub.resyncs == 1
        assert day.volume == sum(10 + i for i in range(121))
        assert day.trades == 121

        # caught up: a late tick the ingester stored and published afterwards counts again
        await bus.publish(TICKS, encode_ticks([Tick("005930", T0 + 500, 70_000, 7, BUY, 0, "sim")]))
        await _until(lambda: hub.ticks_in == 50 + 72)
        day = market.live.day_candle("005930")
        assert day is not None
        assert day.volume == sum(10 + i for i in range(121)) + 7
    finally:
        await hub.close()
        await bus.close()
        await store.close()


async def _until(cond: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not cond():  # noqa: ASYNC110  # the hub has no event to wait on
            await asyncio.sleep(0.01)
