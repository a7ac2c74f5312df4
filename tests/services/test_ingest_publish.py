"""While the bus is down, ingest keeps each tick batch and re-sends it in order; after a very
long outage it gives batches up and says so through the bus, so subscribers refill."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aegis.bus.codec import decode_ticks
from aegis.bus.memory import MemoryBus
from aegis.core.errors import StreamUnavailable
from aegis.domain.ticks import BUY, Tick
from aegis.services import ingest as ingest_module
from aegis.services.ingest import IngestService
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

WAIT_S = 15.0
T0 = 1_764_640_800_000_000


class FlakyBus(MemoryBus):
    """Fails the first ``failures`` publishes, then records what it is given."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.payloads: list[bytes] = []
        self.skipped = 0
        self.got = asyncio.Event()

    async def publish(self, topic: str, payload: bytes) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise StreamUnavailable("bus down")
        self.payloads.append(payload)
        self.got.set()

    def skip(self, topic: str, count: int) -> None:
        self.skipped += count


def tick(i: int) -> Tick:
    return Tick("005930", T0 + i, 70_000, 1, BUY, i, "sim")


@pytest.fixture
async def store(tmp_path: Path) -> SQLiteStore:
    upgrade(f"sqlite:///{tmp_path / 's.db'}")
    s = SQLiteStore(tmp_path / "s.db")
    await s.start()
    return s


async def test_batches_published_while_the_bus_is_down_arrive_in_order(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "PUBLISH_BACKOFF_S", 0.001)
    bus = FlakyBus(failures=5)
    ingest = IngestService(store, bus)
    await ingest.start()
    try:
        for i in range(3):
            await ingest.ticks([tick(i)])
        async with asyncio.timeout(WAIT_S):
            while len(bus.payloads) < 3:
                bus.got.clear()
                await bus.got.wait()
        sent = [decode_ticks(p)[1][0].seq for p in bus.payloads]
        assert sent == [0, 1, 2]
        assert ingest.publish_failures == 5
        assert bus.skipped == 0
    finally:
        await ingest.close()
        await store.close()


async def test_a_long_outage_gives_up_batches_and_reports_the_gap(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "PUBLISH_BACKOFF_S", 0.001)
    monkeypatch.setattr(ingest_module, "MAX_OUTBOX", 4)
    bus = FlakyBus(failures=10**9)
    ingest = IngestService(store, bus)
    await ingest.start()
    try:
        for i in range(10):
            await ingest.ticks([tick(i)])
        async with asyncio.timeout(WAIT_S):
            while True:
                if bus.skipped:
                    break
                await asyncio.sleep(0.01)
        assert ingest.publish_dropped == bus.skipped
        assert ingest.describe()["publishDropped"] == bus.skipped
    finally:
        bus.failures = 0
        await ingest.close()
        await store.close()
