"""Subscription budget (≤ 40 per connection, watched symbols first) and secret hygiene."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import SecretStr

from aegis.core.config import Settings
from aegis.credentials.store import BrokerCredentials
from aegis.sources.base import SourceState
from aegis.sources.kis.budget import allot
from aegis.sources.kis.fields import BOOK_TR, TRADE_TR
from tests.fakes.kis import APP_KEY, APP_SECRET, FakeKis
from tests.sources.helpers import CollectSink
from tests.sources.test_kis_stream import make_source, running


def test_budget_serves_the_operators_symbols_then_watched_ones_and_caps_at_forty() -> None:
    watched = [f"{i:06d}" for i in range(100, 150)]
    subs = allot(["005930"], watched, ["000660"], limit=40, book_symbols=5)
    assert len(subs) == 40
    # anonymous watchers can never push out the operator's AEGIS_KIS_SYMBOLS
    assert subs[:2] == [(TRADE_TR, "005930"), (BOOK_TR, "005930")]
    assert subs[2:4] == [(TRADE_TR, "000100"), (BOOK_TR, "000100")]
    assert (TRADE_TR, "000660") not in subs  # an unwatched one yields its slot when needed
    assert sum(1 for tr, _ in subs if tr == BOOK_TR) == 5


def test_an_unwatched_symbol_keeps_its_slot_while_there_is_room() -> None:
    subs = allot([], ["000100"], ["000660"], limit=40, book_symbols=0)
    assert subs == [(TRADE_TR, "000100"), (TRADE_TR, "000660")]


async def test_watch_resubscribes_within_the_budget(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    src = make_source(settings, fake_kis, kis_creds)
    sink = CollectSink()
    async with running(src, sink):
        await sink.wait_until(lambda: src.status.subscriptions == 6)
        watched = [f"{i:06d}" for i in range(200, 260)]
        await src.watch(watched)
        await sink.wait_until(lambda: src.status.subscriptions == 40)
        await asyncio.sleep(0.05)
    assert fake_kis.max_subs_seen <= 40
    unsubscribed = {key for tr_type, _, key in fake_kis.sub_requests if tr_type == "2"}
    assert not {"005930", "000660", "035420"} & unsubscribed  # the operator's stay


async def test_secrets_never_reach_logs_status_or_errors(
    settings: Settings,
    fake_kis: FakeKis,
    kis_creds: BrokerCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    src = make_source(settings, fake_kis, kis_creds)
    sink = CollectSink()
    async with running(src, sink):
        fake_kis.market.start()
        await sink.wait_until(lambda: len(sink.received) > 300)
        fake_kis.drop()
        await sink.wait_until(lambda: src.status.reconnects >= 1 and src.counts["backfilled"] > 0)
        token = src.auth._shared.token if src.auth else None
        approval = src.auth._approval if src.auth else None
    # a wrong secret: the error must not echo it either
    bad = BrokerCredentials(SecretStr(APP_KEY), SecretStr("WRONG-secret-value-123"))
    bad_src = make_source(settings, fake_kis, bad)
    await asyncio.wait_for(bad_src.run(CollectSink()), 5)
    assert bad_src.status.state is SourceState.FAILED
    assert token and approval
    secrets = [APP_KEY, APP_SECRET, "WRONG-secret-value-123", token, approval]
    texts = [r.getMessage() for r in caplog.records]
    texts += [repr(src), str(src.status), repr(bad_src), str(bad_src.status), repr(kis_creds)]
    texts += [repr(src.auth), repr(src.rest)]
    for text in texts:
        for secret in secrets:
            assert secret not in text


async def test_the_websocket_debug_log_never_shows_the_kis_approval_key(
    settings: Settings,
    fake_kis: FakeKis,
    kis_creds: BrokerCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # AEGIS_LOG_LEVEL=DEBUG sets the root logger so
    src = make_source(settings, fake_kis, kis_creds)
    sink = CollectSink()
    async with running(src, sink):
        await sink.wait_until(lambda: src.status.subscriptions == 6)
        approval = src.auth._approval if src.auth else None
    assert approval
    assert any(r.name.startswith("aegis.sources.kis") for r in caplog.records)
    for r in caplog.records:
        if r.name == "websockets.server":
            continue  # the fake broker's side, not ours
        text = r.getMessage()
        assert approval[:12] not in text, f"{r.name}: {text}"
