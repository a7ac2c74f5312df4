"""KIS source against the fake KIS: normal streaming and every fault mode."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from aegis.core.config import Settings
from aegis.credentials.store import BrokerCredentials
from aegis.domain.ticks import BUY, Tick
from aegis.sources.base import SourceState
from aegis.sources.common.backoff import Backoff
from aegis.sources.kis.source import KisSource
from tests.fakes.kis import FakeKis
from tests.sources.conftest import expected_ticks
from tests.sources.helpers import CollectSink, candles_1m, identities

SYMBOLS = ("005930", "000660", "035420")


def make_source(
    settings: Settings, fake: FakeKis, creds: BrokerCredentials, **kw: object
) -> KisSource:
    s = settings.model_copy(update={"kis_rest_url": fake.rest_url, "kis_ws_url": fake.ws_url})
    opts: dict[str, object] = dict(
        symbols=SYMBOLS,
        creds=creds,
        backoff=Backoff(0.02, 0.2),
        retry_backoff=Backoff(0.02, 0.2),
        # the fake pings every 0.1 s; well above any stall of this test's event loop, which
        # would otherwise pass for a stalled connection and reconnect
        stall_timeout_s=3.0,
        healthy_after_s=0.5,
    )
    opts.update(kw)
    return KisSource(s, **opts)  # type: ignore[arg-type]


@asynccontextmanager
async def running(src: KisSource, sink: CollectSink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(src.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def stream_all(
    fake: FakeKis,
    src: KisSource,
    sink: CollectSink,
    fault: Callable[[], object] | None = None,
    at: int = 600,
) -> SourceState:
    """Run the market to its end, optionally injecting ``fault`` once ``at`` ticks arrived,
    then wait until the source has delivered every trade."""
    async with running(src, sink):
        await sink.wait_until(lambda: src.status.subscriptions == len(SYMBOLS) + 3)
        fake.market.start()
        if fault is not None:
            await sink.wait_until(lambda: len(sink.received) >= at)
            fault()
        await fake.market.done.wait()
        total = fake.market.count
        await sink.wait_until(lambda: len(sink.received) >= total, limit_s=20)
        await asyncio.sleep(0.1)  # a late duplicate would show up here
        return src.status.state


def assert_exact(fake: FakeKis, sink: CollectSink) -> None:
    want = expected_ticks(fake.market)
    got = sink.received
    assert len(identities(got)) == len(set(identities(got))), "duplicate ticks delivered"
    assert sorted(got) == sorted(want)
    assert candles_1m(got) == candles_1m(want)
    assert fake.violations == 0


async def test_streams_every_trade_exactly_once(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    src = make_source(settings, fake_kis, kis_creds)
    sink = CollectSink()
    await stream_all(fake_kis, src, sink)
    assert_exact(fake_kis, sink)
    assert src.status.reconnects == 0
    assert sink.books, "order books for the top symbols"
    assert fake_kis.pongs > 0, "PINGPONG answered"


async def test_dropped_connection_reconnects_and_fills_the_gap(
    settings: Settings,
    fake_kis: FakeKis,
    kis_creds: BrokerCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "aegis.sources.kis")
    src = make_source(settings, fake_kis, kis_creds)
    sink = CollectSink()
    state = await stream_all(fake_kis, src, sink, fault=fake_kis.drop)
    assert_exact(fake_kis, sink)
    assert src.status.reconnects >= 1
    assert src.counts["backfilled"] > 0
    assert state is SourceState.LIVE
    assert "connection lost" in (src.status.error or "")
    assert any("disconnected (connection lost" in r.message for r in caplog.records)
    assert fake_kis.connections >= 2


async def test_stalled_connection_is_detected_and_replaced(
    settings: Settings,
    fake_kis: FakeKis,
    kis_creds: BrokerCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "aegis.sources.kis")
    # short, to keep the test quick: an event-loop stall could only add a reconnect, and the
    # injected stall is detected all the same
    src = make_source(settings, fake_kis, kis_creds, stall_timeout_s=0.6)
    sink = CollectSink()
    state = await stream_all(fake_kis, src, sink, fault=fake_kis.stall)
    assert_exact(fake_kis, sink)
    assert state is SourceState.LIVE
    assert src.status.reconnects >= 1
    assert "stalled" in (src.status.error or "")
    assert any("connection stalled" in r.message for r in caplog.records)


async def test_malformed_frames_are_dropped_and_their_trades_refetched(
    settings: Settings,
    fake_kis: FakeKis,
    kis_creds: BrokerCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "aegis.sources.kis")
    src = make_source(settings, fake_kis, kis_creds)
    sink = CollectSink()
    state = await stream_all(fake_kis, src, sink, fault=lambda: fake_kis.malform(5))
    assert_exact(fake_kis, sink)
    assert state is SourceState.LIVE
    assert fake_kis.malformed_sent == 5
    assert src.counts["malformed"] == 5
    assert src.counts["gaps"] >= 1
    assert src.status.reconnects == 0, "a bad frame is not a reason to reconnect"
    assert "malformed frame dropped" in (src.status.error or "")
    assert any("malformed frame dropped" in r.message for r in caplog.records)


async def test_rate_limit_answers_are_retried_and_never_provoked(
    settings: Settings,
    fake_kis: FakeKis,
    kis_creds: BrokerCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "aegis.sources.kis")
    fake_kis.rate_limit = 5  # a small limit that gap filling would exceed without a bucket
    src = make_source(settings, fake_kis, kis_creds, rest_rate=5.0)
    sink = CollectSink()

    def fault() -> None:
        fake_kis.force_rate_limit(3)
        fake_kis.drop()

    state = await stream_all(fake_kis, src, sink, fault=fault)
    assert_exact(fake_kis, sink)
    assert state is SourceState.LIVE
    assert fake_kis.forced == 3
    assert src.rest is not None and src.rest.rate_limited == 3
    assert fake_kis.violations == 0
    assert any("rate limited by server (EGW00201)" in r.message for r in caplog.records)


@pytest.mark.parametrize("closed", [False, True], ids=["trading", "closed"])
async def test_a_restarted_ingester_fills_what_it_missed_from_the_stored_seq(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials, closed: bool
) -> None:
    """kill -9 of the ingester (or a standby taking over): the new process starts from the
    newest stored trade of each symbol and fills the trades made meanwhile through REST, also
    when the market closed before it came up (no live trade tells it the day: the stored
    trades' day is asked for, not the machine's)."""
    first = make_source(settings, fake_kis, kis_creds)
    before = CollectSink()
    async with running(first, before):
        await before.wait_until(lambda: first.status.subscriptions == len(SYMBOLS) + 3)
        fake_kis.market.start()
        await before.wait_until(lambda: len(before.received) >= 600)
    # the process is gone; the market trades on with nobody listening
    # what was stored, with a hole: the process before had stored live trades of 005930 above
    # trades it was still filling when it died
    by_symbol = {s: sorted((t for t in before.received if t.symbol == s), key=lambda t: t.seq)
                 for s in SYMBOLS}  # fmt: skip
    hole = by_symbol["005930"][len(by_symbol["005930"]) // 2 :][:5]
    stored = [t for t in before.received if t not in hole]
    recent = {s: sorted((t for t in stored if t.symbol == s), key=lambda t: (t.ts, t.seq))
              for s in SYMBOLS}  # fmt: skip
    if closed:
        await fake_kis.market.done.wait()
    second = make_source(settings, fake_kis, kis_creds, quiet_fill_after_s=0.5)
    second.resume_after(recent, now=max(t.ts for t in stored))
    before.received = stored
    after = CollectSink()
    async with running(second, after):
        await fake_kis.market.done.wait()
        total = fake_kis.market.count
        await after.wait_until(
            lambda: len(set(before.received) | set(after.received)) >= total, limit_s=30
        )
        await asyncio.sleep(0.1)  # a late duplicate would show up here
    # the fill re-delivers the stored trades above the hole (ingest drops them as stored)
    assert len(identities(after.received)) == len(set(identities(after.received)))
    assert sorted(set(before.received) | set(after.received)) == sorted(
        expected_ticks(fake_kis.market)
    )
    assert set(hole) <= set(after.received)
    assert second.counts["backfilled"] > 0


async def test_a_stored_trade_from_another_day_is_not_resumed_from(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    src = make_source(settings, fake_kis, kis_creds)
    day = 86_400 * 1_000_000
    now = 1_764_640_800_000_000  # 2025-12-02 09:00 KST
    src.resume_after(
        {
            "005930": [Tick("005930", now - day, 70_000, 10, BUY, 1_000, "kis")],
            "000660": [Tick("000660", now - 60_000_000, 70_000, 10, BUY, 2_000, "kis")],
        },
        now=now,
    )
    assert src._last_seq == {"000660": 2_000}  # cumulative volume restarts every session
