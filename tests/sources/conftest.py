from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from aegis.core.config import Settings
from aegis.credentials.store import BrokerCredentials
from aegis.domain.ticks import BUY, SELL, Tick
from aegis.sources.kis.parse import kst_instant_us
from tests.fakes import kis as fake_kis_mod
from tests.fakes.kis import FakeKis
from tests.fakes.market import FakeMarket, Trade


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key=SecretStr("test-master-key"))


@pytest.fixture
def kis_creds() -> BrokerCredentials:
    return BrokerCredentials(SecretStr(fake_kis_mod.APP_KEY), SecretStr(fake_kis_mod.APP_SECRET))


@pytest.fixture
async def fake_kis() -> AsyncIterator[FakeKis]:
    market = FakeMarket(("005930", "000660", "035420"), rate=2_000, total=3_000)
    fake = FakeKis(market, ping_interval_s=0.1)
    await fake.start()
    yield fake
    await market.stop()
    await fake.stop()


def expected_ticks(market: FakeMarket) -> list[Tick]:
    """Ground truth: every trade the fake market made, as the source must deliver it."""
    out = []
    for trades in market.trades.values():
        for t in trades:
            out.append(trade_tick(t, market.day))
    return out


def trade_tick(t: Trade, day: str) -> Tick:
    return Tick(
        t.symbol,
        kst_instant_us(day, t.hhmmss),
        t.price,
        t.qty,
        BUY if t.buy else SELL,
        t.acml,
        "kis",
    )
