"""After a gap on the bus, each client subscribed to a symbol gets the stored ticks it missed, once,
in time order and marked as ``backfill``; then a ``resynced`` notice. In-process: a MemoryBus, a
SQLite store, and the gap published by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from aegis.bus.base import GAP, TICKS
from aegis.bus.codec import encode_ticks
from aegis.bus.memory import MemoryBus
from aegis.core.timeutil import iso_z
from aegis.domain.ticks import BUY, Tick
from aegis.reference import load_instruments
from aegis.services import stream
from aegis.services.clients import ClientChannel
from aegis.services.market import Market
from aegis.services.stream import StreamHub, Subscriber
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

WAIT_S = 15.0
T0 = 1_764_640_800_000_000  # 2025-12-02 00:00 UTC (09:00 KST)


def tick(i: int, symbol: str = "005930") -> Tick:
    return Tick(symbol, T0 + i * 1_000_000, 70_000 + i, 10 + i, BUY, i, "sim")


class Rig:
    def __init__(self, store: SQLiteStore, bus: MemoryBus, hub: StreamHub) -> None:
        self.store, self.bus, self.hub = store, bus, hub

    def client(self, *symbols: str) -> Subscriber:
        sub = Subscriber(ClientChannel(maxsize=100_000), lambda: None)
        self.hub.add(sub)
        self.hub.subscribe_ticks(sub, list(symbols))
        return sub

    async def publish(self, ticks: Sequence[Tick]) -> None:
        await self.bus.publish(TICKS, encode_ticks(ticks))


@pytest.fixture
async def rig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setattr(stream, "RESYNC_DELAY_S", 0.0)
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    bus = MemoryBus()
    await bus.start()
    market = Market(store, load_instruments())
    hub = StreamHub(bus, market, resync=lambda: market.restore_live(anew=True))
    await hub.start()
    try:
        yield Rig(store, bus, hub)
    finally:
        await hub.close()
        await bus.close()
        await store.close()


def received(sub: Subscriber) -> list[dict[str, Any]]:
    """Everything queued for the client so far, in order."""
    ch = sub.channel
    out = [orjson.loads(p) for _, p in ch._control]
    out += [orjson.loads(p) for p in ch._queue]
    ch._control.clear()
    ch._queue.clear()
    return out


def key(m: dict[str, Any]) -> tuple[str, str, float]:
    return (m["symbol"], m["timestamp"], m["price"])


def as_keys(ticks: Sequence[Tick]) -> list[tuple[str, str, float]]:
    return [(t.symbol, iso_z(t.ts), float(t.price)) for t in ticks]


async def until(cond: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not cond():  # noqa: ASYNC110  # the hub has no event to wait on
            await asyncio.sleep(0.01)


async def test_a_client_gets_the_ticks_lost_in_a_gap_once_in_time_order(rig: Rig) -> None:
    ticks = [tick(i) for i in range(100)] + [tick(i, "000660") for i in range(100)]
    await rig.store.write_ticks(ticks)  # the ingester stored everything
    a = rig.client("005930", "000660")
    b = rig.client("000660")
    rig.hub.on_ticks([tick(i) for i in range(40)] + [tick(i, "000660") for i in range(30)])
    await rig.bus.publish(TICKS, GAP)  # 40..59 and 30..69 never reach this hub
    await rig.publish([tick(i) for i in range(60, 80)] + [tick(i, "000660") for i in range(70, 80)])
    await rig.publish([tick(80)])
    await until(lambda: rig.hub.gapfill.refilled == 20 + 40 and not rig.hub.gapfill.pending)

    got_a, got_b = received(a), received(b)
    backfills = [m for m in got_a if m["type"] == "backfill"]
    assert {m["symbol"] for m in backfills} == {"005930", "000660"}
    by_symbol = {m["symbol"]: m for m in backfills}
    assert [key(t) for t in by_symbol["005930"]["ticks"]] == as_keys(
        [tick(i) for i in range(40, 60)]
    )
    assert [key(t) for t in by_symbol["000660"]["ticks"]] == as_keys(
        [tick(i, "000660") for i in range(30, 70)]
    )
    assert all(t["type"] == "tick" for m in backfills for t in m["ticks"])
    # every stored tick exactly once, live or backfilled
    live = [key(m) for m in got_a if m["type"] == "tick"]
    refilled = [key(t) for m in backfills for t in m["ticks"]]
    assert sorted(live + refilled) == sorted(as_keys([*ticks[:81], *ticks[100:180]]))
    assert [m["type"] for m in got_a].count("resynced") == 1
    # the other client gets only its own symbol's
    assert [m["symbol"] for m in got_b if m["type"] == "backfill"] == ["000660"]
    assert sum(len(m["ticks"]) for m in got_b if m["type"] == "backfill") == 40


async def test_a_client_that_subscribed_after_the_gap_gets_no_backfill(rig: Rig) -> None:
    await rig.store.write_ticks([tick(i) for i in range(31)])
    early = rig.client("005930")
    rig.hub.on_ticks([tick(i) for i in range(10)])
    await rig.bus.publish(TICKS, GAP)
    await until(lambda: rig.hub.gaps == 1)
    late = rig.client("005930")
    await rig.publish([tick(i) for i in range(20, 30)])
    await rig.publish([tick(30)])
    await until(lambda: not rig.hub.gapfill.pending and rig.hub.resyncs == 1)
    assert [len(m["ticks"]) for m in received(early) if m["type"] == "backfill"] == [10]
    assert [m for m in received(late) if m["type"] == "backfill"] == []


async def test_the_fill_waits_until_the_store_holds_the_end_of_the_gap(rig: Rig) -> None:
    """The ingester stores in batches: ticks delivered after the gap may not be stored yet, and
    neither may the lost ones. Nothing is sent until the store has caught up, then all of it."""
    await rig.store.write_ticks([tick(i) for i in range(10)])
    sub = rig.client("005930")
    rig.hub.on_ticks([tick(i) for i in range(10)])
    await rig.bus.publish(TICKS, GAP)
    await rig.publish([tick(i) for i in range(20, 25)])  # 10..19 lost
    await rig.publish([tick(25)])
    await until(lambda: rig.hub.resyncs == 1)
    assert rig.hub.gapfill.pending  # the store holds none of 10..25 yet
    assert [m for m in received(sub) if m["type"] == "backfill"] == []

    await rig.store.write_ticks([tick(i) for i in range(10, 26)])
    for i in range(26, 200):  # the market goes on; the hub retries between batches
        await rig.publish([tick(i)])
        if not rig.hub.gapfill.pending:
            break
        await asyncio.sleep(0.05)
    await until(lambda: not rig.hub.gapfill.pending)
    backfills = [m for m in received(sub) if m["type"] == "backfill"]
    assert [key(t) for m in backfills for t in m["ticks"]] == as_keys(
        [tick(i) for i in range(10, 20)]
    )


async def test_a_symbol_without_a_tick_after_the_gap_is_filled_when_waiting_gives_up(
    rig: Rig,
) -> None:
    await rig.store.write_ticks([tick(i, "000660") for i in range(20)])
    sub = rig.client("000660")
    rig.hub.on_ticks([tick(i, "000660") for i in range(5)])
    rig.hub.gapfill.give_up_s = 0.0
    await rig.bus.publish(TICKS, GAP)  # 5..19 lost; then the symbol falls silent
    await until(lambda: rig.hub.gaps == 1)
    for i in range(200):
        await rig.publish([tick(i)])
        if not rig.hub.gapfill.pending:
            break
        await asyncio.sleep(0.02)
    await until(lambda: not rig.hub.gapfill.pending)
    backfills = [m for m in received(sub) if m["type"] == "backfill"]
    assert [key(t) for m in backfills for t in m["ticks"]] == as_keys(
        [tick(i, "000660") for i in range(5, 20)]
    )
