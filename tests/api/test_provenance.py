"""Every number says where it comes from, and no estimate is passed off as data: per-candle
sources, the real index trading value (null where the data have none), and a source on quotes
and company profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aegis.core.timeutil import kst_midnight_us
from aegis.domain.ticks import BUY, Tick
from tests.support.app import running_app
from tests.support.wait import wait_until

DAY = kst_midnight_us(__import__("datetime").date(2026, 10, 5))  # after all shipped history
T0 = DAY + 9 * 3600 * 1_000_000


@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    # live simulated ticks for 000660 on a day after the shipped real history
    ticks = [Tick("000660", T0 + i * 1_000_000, 1_000_000, 1, BUY, i, "sim") for i in range(5)]
    with running_app(tmp_path, [ticks]) as (c, rt, source):
        wait_until(lambda: source.ready.is_set())
        wait_until(lambda: rt.market is not None and rt.market.quote("000660") is not None)
        wait_until(lambda: rt.market is not None and rt.market.quote("000660").last_ts >= T0)  # type: ignore[union-attr]
        yield c


def test_index_candles_serve_the_files_real_trading_value(client: TestClient) -> None:
    r = client.get(
        "/api/v1/candles/KOSPI",
        params={"interval": "1d", "start": "2023-01-05", "end": "2023-01-06"},
    )

    [day] = r.json()["data"]
    # kospi_index_daily.csv 2023-01-05: Amount 7521178466245 (close × volume would be 9.76e11)
    assert day["amount"] == 7_521_178_466_245
    assert day["source"] == "import"


def test_a_series_without_trading_value_serves_null_not_an_estimate(client: TestClient) -> None:
    # the shipped 005930 series is split-adjusted and has no traded value
    for interval in ("1d", "1w"):
        r = client.get(
            "/api/v1/candles/005930",
            params={"interval": interval, "start": "2023-12-18", "end": "2023-12-23"},
        )
        data = r.json()["data"]
        assert data, interval
        assert {c["amount"] for c in data} == {None}, interval
        assert {c["source"] for c in data} == {"import"}, interval


def test_each_candle_says_whether_it_is_real_or_simulated(client: TestClient) -> None:
    r = client.get(
        "/api/v1/candles/000660",
        params={"interval": "1d", "start": "2026-07-22", "end": "2026-10-06"},
    )

    body = r.json()
    # the real days shipped (the 2026 daily series and the snapshot), then the simulated live day
    sources = [c["source"] for c in body["data"]]
    assert len(sources) >= 2
    assert set(sources[:-1]) == {"import"}
    assert sources[-1] == "sim"
    assert body["meta"]["source"] == "sim"


def test_quotes_and_profiles_name_their_source(client: TestClient) -> None:
    quotes = client.get("/api/v1/quotes", params={"symbols": "000660,005930"}).json()["data"]
    by_symbol = {q["symbol"]: q for q in quotes}
    cid = client.get("/api/v1/companies", params={"keyword": "005930"}).json()["data"][0]
    live_cid = client.get("/api/v1/companies", params={"keyword": "000660"}).json()["data"][0]
    profile = client.get(f"/api/v1/companies/{cid['companyId']}").json()["data"]
    live_profile = client.get(f"/api/v1/companies/{live_cid['companyId']}").json()["data"]

    assert by_symbol["000660"]["source"] == "sim"  # the live simulated day
    assert by_symbol["005930"]["source"] == "import"  # the newest stored real day
    assert live_profile["source"] == "sim"
    assert profile["source"] == "import"
