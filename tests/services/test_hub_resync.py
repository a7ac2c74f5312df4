"""A gap on the bus makes the stream hub rebuild its live state from the store (once the lost
ticks are surely stored), before it goes on with the next batch."""

from __future__ import annotations

import asyncio

import pytest

from aegis.bus.base import GAP, TICKS
from aegis.bus.codec import encode_ticks
from aegis.bus.memory import MemoryBus
from aegis.domain.ticks import BUY, Tick
from aegis.reference import load_instruments
from aegis.services import stream
from aegis.services.market import Market
from aegis.services.stream import StreamHub

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
