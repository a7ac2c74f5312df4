"""End to end: what a browser-like client watches on /ws/stocks reaches the broker (fake KIS and
fake Kiwoom), ticks flow back, and a subscription nobody watches is released only when its slot
is needed by another symbol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect

from aegis.core.config import Settings
from aegis.credentials.store import BrokerCredentials
from aegis.services import watch
from aegis.services.runtime import Runtime
from aegis.sources.base import Source
from aegis.sources.common.backoff import Backoff
from aegis.sources.kis.source import KisSource
from aegis.sources.kiwoom.source import KiwoomSource
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.fakes import kis as fake_kis_mod
from tests.fakes import kiwoom as fake_kiwoom_mod
from tests.fakes.kis import FakeKis
from tests.fakes.kiwoom import FakeKiwoom
from tests.fakes.market import FakeMarket
from tests.support.auth import SERVER_AUTH_SECRET
from tests.support.inloop import serving

SYMBOLS = ("005930", "000660", "035420")


async def until(pred: Callable[[], bool], limit_s: float = 30.0) -> None:
    async with asyncio.timeout(limit_s):
        while not pred():  # noqa: ASYNC110 - state of fakes and the runtime, no event to wait on
            await asyncio.sleep(0.02)


async def next_tick(ws: ClientConnection, symbol: str) -> dict[str, object]:
    async with asyncio.timeout(30):
        while True:
            msg = orjson.loads(await ws.recv())
            if msg.get("type") == "tick" and msg.get("symbol") == symbol:
                return dict(msg)


async def subscribe(addr: str, symbol: str) -> ClientConnection:
    ws = await connect(f"ws://{addr}/ws/stocks")
    await ws.send(orjson.dumps({"action": "subscribe", "symbols": [symbol]}).decode())
    return ws


@asynccontextmanager
async def platform(tmp_path: Path, make: Callable[[Settings], Source]) -> AsyncIterator[str]:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("test-master-key"))
    upgrade_all(settings.store_url, settings.app_db_url)
    rt = Runtime(settings, store=SQLiteStore(settings.sqlite_path), sources=[make(settings)])
    async with serving(settings, rt) as addr:
        yield addr


@pytest.fixture(autouse=True)
def quick_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    # only the periodic expiry is shortened; a change is reported as it happens anyway
    monkeypatch.setattr(watch, "EVERY_SECONDS", 0.5)


@pytest.fixture
async def market() -> AsyncIterator[FakeMarket]:
    m = FakeMarket(SYMBOLS, rate=300)
    m.start()
    yield m
    await m.stop()


def trade_subs(fake: FakeKis, tr_type: str) -> list[str]:
    return [key for t, tr, key in fake.sub_requests if t == tr_type and tr == "H0STCNT0"]


async def test_kis_follows_what_clients_watch_and_releases_when_the_budget_is_needed(
    tmp_path: Path, market: FakeMarket
) -> None:
    fake = FakeKis(market, ping_interval_s=0.2)
    await fake.start()
    creds = BrokerCredentials(SecretStr(fake_kis_mod.APP_KEY), SecretStr(fake_kis_mod.APP_SECRET))

    def make(settings: Settings) -> Source:
        s = settings.model_copy(update={"kis_rest_url": fake.rest_url, "kis_ws_url": fake.ws_url})
        # no configured symbols (no AEGIS_KIS_SYMBOLS) and room for two trade feeds
        return KisSource(s, creds=creds, backoff=Backoff(0.05, 0.5), max_subscriptions=2,
                         book_symbols=0)  # fmt: skip

    try:
        async with platform(tmp_path, make) as addr:
            await until(lambda: fake.connections >= 1)
            assert trade_subs(fake, "1") == []  # nobody watches anything yet
            first = await subscribe(addr, "005930")
            await until(lambda: "005930" in trade_subs(fake, "1"))
            tick = await next_tick(first, "005930")
            assert tick["source"] == "kis"
            await first.close()  # the only watcher leaves: 005930 keeps its slot for now
            second = await subscribe(addr, "000660")
            await until(lambda: "000660" in trade_subs(fake, "1"))
            await next_tick(second, "000660")
            assert trade_subs(fake, "2") == []  # there was room: nothing released
            third = await subscribe(addr, "035420")
            await until(lambda: "035420" in trade_subs(fake, "1"))
            await next_tick(third, "035420")
            # the unwatched 005930 gave its slot; the watched 000660 kept its own
            assert trade_subs(fake, "2") == ["005930"]
            assert fake.max_subs_seen <= 2
            await second.close()
            await third.close()
    finally:
        await fake.stop()


async def test_kiwoom_follows_what_clients_watch_and_releases_when_the_budget_is_needed(
    tmp_path: Path, market: FakeMarket
) -> None:
    fake = FakeKiwoom(market, ping_interval_s=0.2)
    await fake.start()
    creds = BrokerCredentials(SecretStr(fake_kiwoom_mod.APP_KEY), SecretStr(fake_kiwoom_mod.SECRET))

    def make(settings: Settings) -> Source:
        s = settings.model_copy(
            update={"kiwoom_rest_url": fake.rest_url, "kiwoom_ws_url": fake.ws_url}
        )
        return KiwoomSource(s, creds=creds, backoff=Backoff(0.05, 0.5), max_symbols=2)

    try:
        async with platform(tmp_path, make) as addr:
            await until(lambda: fake.logins >= 1)
            first = await subscribe(addr, "005930")
            await until(lambda: "005930" in fake.registered())
            tick = await next_tick(first, "005930")
            assert tick["source"] == "kiwoom"
            await first.close()
            second = await subscribe(addr, "000660")
            await until(lambda: "000660" in fake.registered())
            await next_tick(second, "000660")
            assert fake.removes == []
            third = await subscribe(addr, "035420")
            await until(lambda: "035420" in fake.registered())
            await next_tick(third, "035420")
            assert fake.removes == [["005930"]]
            assert fake.registered() == {"000660", "035420"}
            await second.close()
            await third.close()
    finally:
        await fake.stop()


@pytest.mark.services
async def test_server_mode_an_api_process_watch_reaches_the_ingesters_broker(
    tmp_path: Path, market: FakeMarket, postgres_url: str, redis_url: str
) -> None:
    """`aegis ingest` and `aegis serve --no-ingest` as two runtimes on PostgreSQL and Redis: the
    client of the API process is heard by the ingester's KIS source."""
    from aegis.bus.redis import RedisBus
    from aegis.store.postgres import PostgresStore

    fake = FakeKis(market, ping_interval_s=0.2)
    await fake.start()
    creds = BrokerCredentials(SecretStr(fake_kis_mod.APP_KEY), SecretStr(fake_kis_mod.APP_SECRET))
    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        redis_url=redis_url,
        secret_key=SecretStr("test-master-key"),
        auth_secret=SecretStr(SERVER_AUTH_SECRET),
        kis_rest_url=fake.rest_url,
        kis_ws_url=fake.ws_url,
    )
    upgrade_all(settings.store_url, settings.app_db_url)
    src = KisSource(settings, creds=creds, backoff=Backoff(0.05, 0.5))
    ingester = Runtime(
        settings, store=PostgresStore(postgres_url), bus=RedisBus(redis_url), sources=[src],
        ingest=True,
    )  # fmt: skip
    api = Runtime(
        settings, store=PostgresStore(postgres_url), bus=RedisBus(redis_url), ingest=False
    )
    await ingester.start()
    try:
        async with serving(settings, api) as addr:
            await until(lambda: fake.connections >= 1)
            client = await subscribe(addr, "005930")
            await until(lambda: "005930" in trade_subs(fake, "1"))
            tick = await next_tick(client, "005930")
            assert tick["source"] == "kis"
            await client.close()
        assert api.watch_collector is None  # only the ingester collects
    finally:
        await ingester.close()
        await fake.stop()
