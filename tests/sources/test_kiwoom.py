"""Kiwoom source against the fake: LOGIN/REG/PING, faults, re-authentication."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import SecretStr

from aegis.core.config import Settings
from aegis.credentials.store import BrokerCredentials
from aegis.domain.ticks import BUY, SELL, Tick
from aegis.sources.base import SourceState
from aegis.sources.common.backoff import Backoff
from aegis.sources.kis.parse import kst_instant_us
from aegis.sources.kiwoom import source as kiwoom_source
from aegis.sources.kiwoom.source import KiwoomSource
from tests.fakes.kiwoom import APP_KEY, SECRET, FakeKiwoom
from tests.fakes.market import FakeMarket
from tests.sources.helpers import CollectSink, identities

SYMBOLS = ("005930", "000660")
MARKET_DAY = "20250103"


@pytest.fixture
async def fake_kw() -> AsyncIterator[FakeKiwoom]:
    fake = FakeKiwoom(FakeMarket(SYMBOLS, rate=1_500, total=1_500, day=MARKET_DAY))
    await fake.start()
    yield fake
    await fake.market.stop()
    await fake.stop()


@pytest.fixture(autouse=True)
def source_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kiwoom's pushes carry no date: the source stamps them with its clock's KST day when it
    connects. That clock reads the fake market's day, so no run straddles a KST midnight."""
    at = kst_instant_us(MARKET_DAY, "100000")
    monkeypatch.setattr(kiwoom_source, "now_us", lambda: at)


def make(settings: Settings, fake: FakeKiwoom, stall_timeout_s: float = 3.0) -> KiwoomSource:
    # the fake pings every 0.1 s; the stall timeout is well above any stall of this test's event
    # loop, which would otherwise pass for a stalled connection and reconnect
    s = settings.model_copy(update={"kiwoom_rest_url": fake.rest_url, "kiwoom_ws_url": fake.ws_url})
    return KiwoomSource(s, symbols=SYMBOLS, backoff=Backoff(0.02, 0.2),
                        stall_timeout_s=stall_timeout_s,
                        creds=BrokerCredentials(SecretStr(APP_KEY), SecretStr(SECRET)),
                        healthy_after_s=0.5)  # fmt: skip


async def run_until_live(src: KiwoomSource) -> None:
    """Run the source until it is live, then stop it."""
    sink = CollectSink()
    task = asyncio.create_task(src.run(sink))
    try:
        await sink.wait_until(lambda: src.status.state is SourceState.LIVE)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def expected(fake: FakeKiwoom) -> list[Tick]:
    day = fake.market.day
    return [Tick(t.symbol, kst_instant_us(day, t.hhmmss), t.price, t.qty,
                 BUY if t.buy else SELL, t.acml, "kiwoom")
            for ts in fake.market.trades.values() for t in ts]  # fmt: skip


async def test_streams_trades_and_echoes_ping(settings: Settings, fake_kw: FakeKiwoom) -> None:
    src = make(settings, fake_kw)
    sink = CollectSink()
    task = asyncio.create_task(src.run(sink))
    try:
        await sink.wait_until(lambda: src.status.state is SourceState.LIVE)
        await asyncio.sleep(0.05)
        fake_kw.market.start()
        await fake_kw.market.done.wait()
        await sink.wait_until(lambda: len(sink.received) >= fake_kw.market.count)
        await asyncio.sleep(0.15)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(sink.received) == sorted(expected(fake_kw))
    assert fake_kw.pings_echoed > 0
    assert fake_kw.regs == [list(SYMBOLS)]


@pytest.mark.parametrize("fault", ["drop", "stall", "malform", "relogin"])
async def test_faults_are_survived_reported_and_never_duplicate(
    settings: Settings, fake_kw: FakeKiwoom, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aegis.sources.kiwoom")
    # a short stall timeout keeps the stall case quick: an event-loop stall could only add a
    # reconnect, and without detecting the injected stall the trades after it never come
    src = make(settings, fake_kw, stall_timeout_s=0.5 if fault == "stall" else 3.0)
    sink = CollectSink()
    task = asyncio.create_task(src.run(sink))
    try:
        await sink.wait_until(lambda: src.status.state is SourceState.LIVE)
        fake_kw.market.start()
        await sink.wait_until(lambda: len(sink.received) >= 300)
        if fault == "relogin":
            fake_kw.refuse_next_login()
            fake_kw.drop()
        else:
            faults: dict[str, Callable[[], object]] = {
                "drop": fake_kw.drop,
                "stall": fake_kw.stall,
                "malform": lambda: fake_kw.malform(2),
            }
            faults[fault]()
        await fake_kw.market.done.wait()
        await sink.wait_until(
            lambda: (
                src.status.state is SourceState.LIVE
                and sink.received[-1].seq
                == fake_kw.market.trades[sink.received[-1].symbol][-1].acml
            )
        )
        state = src.status.state
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert state is SourceState.LIVE
    assert len(set(identities(sink.received))) == len(sink.received)
    assert set(sink.received) <= set(expected(fake_kw))
    log = " ".join(r.getMessage() for r in caplog.records)
    if fault == "malform":
        assert src.counts["malformed"] == 2 and "malformed message dropped" in log
    else:
        assert src.status.reconnects >= 1
        assert len(fake_kw.regs) >= 2, "re-registered after reconnect"
    if fault == "relogin":
        assert fake_kw.refused_logins == 1 and fake_kw.tokens_issued == 2
        assert "LOGIN refused" in log
    if fault in ("drop", "stall") and src.counts["gaps"]:
        assert "shares missed" in log  # the outage is reported, not hidden


async def test_the_websocket_debug_log_never_shows_the_token(
    settings: Settings, fake_kw: FakeKiwoom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await run_until_live(make(settings, fake_kw))
    assert fake_kw.logins == 1
    mine = [r for r in caplog.records if r.name != "websockets.server"]  # not the fake's side
    assert any(r.name.startswith("aegis.sources.kiwoom") for r in mine)
    assert not [r.getMessage() for r in mine if "WQJC-fake" in r.getMessage()]


async def test_watched_symbols_are_registered_live_and_unwatched_ones_released_when_needed(
    settings: Settings, fake_kw: FakeKiwoom
) -> None:
    s = settings.model_copy(
        update={"kiwoom_rest_url": fake_kw.rest_url, "kiwoom_ws_url": fake_kw.ws_url}
    )
    src = KiwoomSource(s, symbols=["005930"], max_symbols=2, backoff=Backoff(0.02, 0.2),
                       creds=BrokerCredentials(SecretStr(APP_KEY), SecretStr(SECRET)))  # fmt: skip
    sink = CollectSink()
    task = asyncio.create_task(src.run(sink))
    try:
        await sink.wait_until(lambda: fake_kw.registered() == {"005930"})
        await src.watch(["000660"])
        await sink.wait_until(lambda: fake_kw.registered() == {"005930", "000660"})
        await src.watch(["035420"])  # 000660 is no longer watched and its slot is needed
        await sink.wait_until(lambda: fake_kw.registered() == {"005930", "035420"})
        await src.watch(["005930", "035420", "000270"])  # the operator's symbol never leaves
        await asyncio.sleep(0.1)
        assert fake_kw.removes == [["000660"]]
        assert fake_kw.registered() == {"005930", "035420"}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_ping_before_the_login_answer_is_echoed_and_the_token_kept(
    settings: Settings,
) -> None:
    """The server may PING before it answers LOGIN (§B.5): that PING is no refused LOGIN."""
    fake = FakeKiwoom(FakeMarket(SYMBOLS, rate=100, total=10, day=MARKET_DAY), ping_first=True)
    await fake.start()
    src = make(settings, fake)
    sink = CollectSink()
    task = asyncio.create_task(src.run(sink))
    try:
        await sink.wait_until(
            lambda: src.status.state is SourceState.LIVE or src.status.reconnects > 0
        )
        await sink.wait_until(lambda: fake.pings_echoed >= 1 or src.status.reconnects > 0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await fake.market.stop()
        await fake.stop()
    assert src.status.reconnects == 0
    assert fake.logins == 1 and fake.refused_logins == 0 and fake.tokens_issued == 1
    assert fake.regs == [list(SYMBOLS)]


def test_paper_keys_use_the_mock_domains_and_real_keys_the_real_ones(settings: Settings) -> None:
    assert kiwoom_source.kiwoom_urls(settings, paper=True) == (
        "https://mockapi.kiwoom.com",
        "wss://mockapi.kiwoom.com:10000/api/dostk/websocket",
    )
    assert kiwoom_source.kiwoom_urls(settings, paper=False) == (
        "https://api.kiwoom.com",
        "wss://api.kiwoom.com:10000/api/dostk/websocket",
    )
    mine = settings.model_copy(
        update={"kiwoom_rest_url": "http://127.0.0.1:1/", "kiwoom_ws_url": "ws://127.0.0.1:2/x"}
    )
    assert kiwoom_source.kiwoom_urls(mine, paper=True) == (
        "http://127.0.0.1:1",
        "ws://127.0.0.1:2/x",
    )


async def test_the_token_request_carries_the_documented_content_type(
    settings: Settings, fake_kw: FakeKiwoom
) -> None:
    await run_until_live(make(settings, fake_kw))
    assert fake_kw.token_content_types == ["application/json;charset=UTF-8"]
