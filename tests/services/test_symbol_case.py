"""A code the lookup accepts in lower case (alphanumeric codes such as ``0126Z0``) reads the
instrument's data, not an empty answer for a spelling the store does not hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import orjson
import pytest

from aegis.api.candles_query import candles_response
from aegis.core.timeutil import kst_midnight_us
from aegis.domain.intervals import parse_interval
from aegis.domain.ticks import BUY, Tick
from aegis.reference import load_instruments
from aegis.services.market import Market
from aegis.store.migrate import upgrade
from aegis.store.sqlite import SQLiteStore

SYM = "00104K"
MIN = 60_000_000
T0 = kst_midnight_us(date(2026, 3, 23)) + 10 * 60 * MIN
TICKS = [Tick(SYM, T0 + i * 20_000_000, 10_000 + 10 * i, 5, BUY, i, "kis") for i in range(6)]


@pytest.fixture
async def market(tmp_path: Path) -> AsyncIterator[Market]:
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    store = SQLiteStore(db)
    await store.start()
    m = Market(store=store, instruments=load_instruments())
    assert SYM in m.by_symbol
    m.live.add_fresh(TICKS)
    await store.upsert_candles(m.live.take_dirty())
    try:
        yield m
    finally:
        await store.close()


async def test_a_lower_case_code_gets_the_instruments_candles(market: Market) -> None:
    for iv in ("1m", "3m", "1d"):
        upper = await market.candles(SYM, parse_interval(iv), None, None, 10)
        lower = await market.candles(SYM.lower(), parse_interval(iv), None, None, 10)
        assert upper and [c.start for c in lower] == [c.start for c in upper]
    body = orjson.loads(
        (await candles_response(market, SYM.lower(), "1m", None, None, None, 1000)).body
    )
    assert [r["close"] for r in body["data"]] == [10_020, 10_050]
    assert body["meta"]["symbol"] == SYM


async def test_a_lower_case_code_gets_the_instruments_quote(market: Market) -> None:
    q = market.quote(SYM.lower())
    assert q is not None and q.price == 10_050 and q.volume == 30
    assert [x.instrument.symbol for x in market.quotes([SYM.lower()])] == [SYM]
