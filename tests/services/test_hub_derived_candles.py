"""Live candles of intervals that are not stored (3m, 10m, …) are kept by the stream hub from
the ticks it broadcasts: they must equal the candles recomputed from the same ticks, including
for a symbol that had not traded when the client subscribed, without KRX off-hours trades (in
no candle, as the aggregator leaves them out), and after a rebuild from the store."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from aegis.aggregator.engine import recompute
from aegis.bus.memory import MemoryBus
from aegis.domain.intervals import parse_interval
from aegis.domain.ticks import BUY, Tick
from aegis.reference import load_instruments
from aegis.services.clients import ClientChannel
from aegis.services.market import Market
from aegis.services.stream import StreamHub, Subscriber
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

SYM = "005930"  # a KOSPI stock: its off-hours trades are in no candle
MIN = 60_000_000
T0 = 1_764_633_600_000_000 + 6 * 60 * MIN  # 2025-12-02 15:00 KST
THREE = parse_interval("3m")


def candles_sent(ch: ClientChannel) -> list[dict[str, object]]:
    out = []
    for payload in ch._queue:
        msg = orjson.loads(payload)
        if msg.get("type") == "candle":
            out.append(msg)
    return out


@pytest.fixture
async def hub(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    market = Market(store=store, instruments=load_instruments())
    bus = MemoryBus()
    hub = StreamHub(bus, market, resync=lambda: market.restore_live(anew=True))
    try:
        yield hub
    finally:
        await store.close()


def sub() -> Subscriber:
    return Subscriber(ClientChannel(maxsize=100_000), on_slow=lambda: None)


async def test_a_symbol_that_had_not_traded_gets_its_candles_from_its_first_tick(
    hub: StreamHub,
) -> None:
    s = sub()
    await hub.subscribe_candles(s, [SYM], THREE)  # nothing stored, nothing live
    ticks = [
        Tick(SYM, T0 + i * 20_000_000, 70_000 + 10 * i, 1 + i, BUY, i, "sim") for i in range(12)
    ]
    for t in ticks:
        hub.on_ticks([t])
    sent = candles_sent(s.channel)
    assert len(sent) == len(ticks)  # one update per tick, none skipped
    (want,) = [c for c in recompute(ticks, THREE) if c.start == THREE.bucket(ticks[-1].ts)]
    last = sent[-1]
    assert (last["time"], last["close"], last["volume"]) == (
        want.start // 1_000_000, want.close, want.volume,
    )  # fmt: skip


async def test_off_hours_trades_stay_out_of_the_derived_candles(hub: StreamHub) -> None:
    s = sub()
    await hub.subscribe_candles(s, [SYM], THREE)
    regular = Tick(SYM, T0 + 29 * MIN, 70_000, 5, BUY, 1, "sim")  # 15:29
    evening = Tick(SYM, T0 + 70 * MIN, 90_000, 100, BUY, 2, "sim")  # 16:10: single-price match
    hub.on_ticks([regular])
    hub.on_ticks([evening])
    assert hub.market.live.passed_through(evening)
    last = candles_sent(s.channel)[-1]
    assert (last["time"], last["high"], last["volume"]) == (
        THREE.bucket(regular.ts) // 1_000_000, 70_000, 5,
    )  # fmt: skip


async def test_a_rebuild_from_the_store_reads_the_derived_candles_again(hub: StreamHub) -> None:
    s = sub()
    first = Tick(SYM, T0, 70_000, 5, BUY, 1, "sim")
    hub.on_ticks([first])
    await hub.subscribe_candles(s, [SYM], THREE)
    # the ingester stored a tick this hub never saw (lost on the bus), then the rebuild
    lost = Tick(SYM, T0 + 10_000_000, 71_000, 7, BUY, 2, "sim")
    store = hub.market.store
    await store.write_ticks([first, lost])
    await store.upsert_candles(
        [c for iv in hub.market.live.intervals for c in recompute([first, lost], iv)]
    )
    await hub._rebuild()
    after = Tick(SYM, T0 + 20_000_000, 69_000, 1, BUY, 3, "sim")
    hub.on_ticks([after])
    last = candles_sent(s.channel)[-1]
    got = (last["high"], last["low"], last["close"], last["volume"])
    assert got == (71_000, 69_000, 69_000, 13)


async def test_a_backlog_the_rebuilt_store_already_holds_is_not_added_twice(
    hub: StreamHub,
) -> None:
    """After a bus outage the store can be ahead of this hub: the rebuild reads the derived
    candle with the ingester's backlog in it, and that backlog's batches arrive after."""
    s = sub()
    ticks = [Tick(SYM, T0 + i * 1_000_000, 70_000 + i, 1 + i, BUY, i, "sim") for i in range(30)]
    hub.on_ticks(ticks[:10])  # what reached this hub before the outage
    await hub.subscribe_candles(s, [SYM], THREE)
    store = hub.market.store
    await store.write_ticks(ticks[:20])  # the ingester stored 0..19 meanwhile
    await store.upsert_candles(
        [c for iv in hub.market.live.intervals for c in recompute(ticks[:20], iv)]
    )
    await hub._rebuild()
    hub.on_ticks(ticks[10:25])  # the backlog (10..19, stored already) and newer ticks
    hub.on_ticks(ticks[25:])
    (want,) = recompute(ticks, THREE)
    last = candles_sent(s.channel)[-1]
    assert (last["close"], last["volume"]) == (want.close, want.volume)
    day = hub.market.live.day_candle(SYM)
    assert day is not None and day.volume == want.volume  # as the aggregator counts them
