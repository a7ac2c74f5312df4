"""Binance source against the fake stream: exact decimals, pongs, faults, 24 h replacement."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest

from aegis.core.config import Settings
from aegis.domain.ticks import BUY, SELL, Tick
from aegis.sources.base import SourceState
from aegis.sources.binance.parse import MalformedEvent, scaled
from aegis.sources.binance.source import BinanceSource
from aegis.sources.common.backoff import Backoff
from tests.fakes.binance import FakeBinance
from tests.sources.helpers import CollectSink, candles_1m, identities


@pytest.fixture
async def fake_bn() -> AsyncIterator[FakeBinance]:
    fake = FakeBinance()
    await fake.start()
    yield fake
    await fake.stop()


def make(settings: Settings, fake: FakeBinance, **kw: object) -> BinanceSource:
    s = settings.model_copy(
        update={"binance_ws_url": fake.ws_url, "binance_symbols": "btcusdt,ethusdt"}
    )
    opts: dict[str, object] = dict(
        rest_url=fake.rest_url,
        backoff=Backoff(0.02, 0.2),
        # only trades count as messages: well above any stall of this test's event loop, which
        # would otherwise pass for a stalled connection and reconnect
        stall_timeout_s=3.0,
        healthy_after_s=0.5,
        rest_rate=50.0,
    )
    opts.update(kw)
    return BinanceSource(s, **opts)  # type: ignore[arg-type]


def expected(fake: FakeBinance) -> list[Tick]:
    return [Tick(t.symbol, t.time_ms * 1000, int(Decimal(t.price) * 10**8),
                 int(Decimal(t.qty) * 10**8), SELL if t.maker else BUY, t.id, "binance")
            for trades in fake.trades.values() for t in trades]  # fmt: skip


async def run_all(
    fake: FakeBinance,
    src: BinanceSource,
    sink: CollectSink,
    fault: Callable[[], object] | None = None,
) -> SourceState:
    task = asyncio.create_task(src.run(sink))
    try:
        await sink.wait_until(lambda: src.status.state is SourceState.LIVE)
        await asyncio.sleep(0.05)
        fake.start_market()
        if fault is not None:
            await sink.wait_until(lambda: len(sink.received) >= 400)
            fault()
        await fake.done.wait()
        await sink.wait_until(lambda: len(sink.received) >= fake.count, limit_s=15)
        await asyncio.sleep(0.1)
        return src.status.state
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def assert_exact(fake: FakeBinance, sink: CollectSink) -> None:
    got = sink.received
    assert len(set(identities(got))) == len(got), "duplicate ticks delivered"
    assert sorted(got) == sorted(expected(fake))
    assert candles_1m(got) == candles_1m(expected(fake))


def test_decimal_text_becomes_exact_scaled_integers() -> None:
    assert scaled("96512.34000000") == 9_651_234_000_000
    assert scaled("0.00150000") == 150_000
    assert scaled("1") == 100_000_000
    with pytest.raises(MalformedEvent):
        scaled("0.000000001")  # a 9th decimal would be rounded away
    with pytest.raises(MalformedEvent):
        scaled("1e5")


def test_instruments_carry_the_scale(settings: Settings) -> None:
    src = BinanceSource(settings.model_copy(update={"binance_symbols": "btcusdt"}))
    (inst,) = src.instruments()
    assert (inst.symbol, inst.market, inst.kind, inst.price_scale, inst.qty_scale) == (
        "BTCUSDT",
        "BINANCE",
        "crypto",
        8,
        8,
    )


async def test_streams_every_trade_and_answers_pings(
    settings: Settings, fake_bn: FakeBinance
) -> None:
    src = make(settings, fake_bn)
    sink = CollectSink()
    state = await run_all(fake_bn, src, sink)
    assert state is SourceState.LIVE
    assert_exact(fake_bn, sink)
    assert fake_bn.pings > 0 and fake_bn.pongs > 0


@pytest.mark.parametrize("fault", ["drop", "stall", "malform"])
async def test_faults_reconnect_and_fill_by_trade_id(
    settings: Settings, fake_bn: FakeBinance, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aegis.sources.binance")
    # a short stall timeout keeps the stall case quick: an event-loop stall could only add a
    # reconnect, and without detecting the injected stall the trades after it never come
    src = make(settings, fake_bn, stall_timeout_s=0.5 if fault == "stall" else 3.0)
    sink = CollectSink()
    inject = {"drop": fake_bn.drop, "stall": fake_bn.stall,
              "malform": lambda: fake_bn.malform(3)}[fault]  # fmt: skip
    state = await run_all(fake_bn, src, sink, inject)
    assert state is SourceState.LIVE
    assert_exact(fake_bn, sink)
    log = " ".join(r.getMessage() for r in caplog.records)
    if fault == "malform":
        assert src.counts["malformed"] == 3 and src.status.reconnects == 0
        assert "malformed message dropped" in log
    else:
        assert src.status.reconnects >= 1
        assert ("stalled" if fault == "stall" else "connection lost") in log
    assert src.counts["backfilled"] > 0


async def test_connection_is_replaced_before_the_age_limit_without_a_gap(
    settings: Settings,
) -> None:
    # the cut comes 2.2 s after the planned replacement: room for a slow machine
    fake = FakeBinance(total=3_000, rate=1_000, max_age_s=3.0)
    await fake.start()
    try:
        src = make(settings, fake, max_age_s=0.8, overlap_timeout_s=1.0)
        sink = CollectSink()
        state = await run_all(fake, src, sink)
    finally:
        await fake.stop()
    assert state is SourceState.LIVE
    assert_exact(fake, sink)
    assert src.counts["replacements"] >= 2
    assert src.status.reconnects == 0, "replaced ahead of the cut, never cut"
    assert src.counts["backfilled"] == 0, "the overlap alone kept the stream whole"


async def test_server_shutdown_notice_triggers_replacement(
    settings: Settings, fake_bn: FakeBinance
) -> None:
    src = make(settings, fake_bn)
    sink = CollectSink()
    state = await run_all(fake_bn, src, sink, fake_bn.announce_shutdown)
    assert state is SourceState.LIVE
    assert_exact(fake_bn, sink)
    assert src.counts["replacements"] == 1


def test_a_restart_fills_from_the_newest_stored_trade_id(settings: Settings) -> None:
    src = BinanceSource(settings)
    now = 1_764_640_800_000_000

    def t(sym: str, ts: int, trade_id: int) -> Tick:
        return Tick(sym, ts, 1, 1, BUY, trade_id, "binance")

    src.resume_after(
        {
            # 7,002 is missing: the fill goes on from 7,001 (7,003 is stored again, once)
            "BTCUSDT": [t("BTCUSDT", now - 9_000_000 + i, i) for i in (7_000, 7_001, 7_003)],
            "ETHUSDT": [t("ETHUSDT", now - 2 * 3_600_000_000, 9)],
        },
        now=now,
    )
    # a recent stored trade is resumed from (ids never restart); one from hours ago is not:
    # paging through everything since would take the REST budget for nothing
    assert src._last_id == {"BTCUSDT": 7_001}


async def test_a_quiet_stream_whose_server_pings_is_not_taken_for_a_stall(
    settings: Settings, fake_bn: FakeBinance
) -> None:
    """No trade for three stall timeouts, but the server pings (every 20 s on Binance, §E):
    the connection is alive and stays."""
    src = make(settings, fake_bn, stall_timeout_s=1.0)
    sink = CollectSink()
    task = asyncio.create_task(src.run(sink))
    try:
        await sink.wait_until(lambda: src.status.state is SourceState.LIVE)
        await sink.wait_until(lambda: fake_bn.pongs >= 30)  # 0.1 s apart: about 3 s
        state = src.status.state
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert state is SourceState.LIVE
    assert src.status.reconnects == 0 and fake_bn.connections == 1
