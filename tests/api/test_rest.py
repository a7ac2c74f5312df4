"""REST endpoints: envelopes, shapes and every bad-input case."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aegis.core.timeutil import kst_midnight_us
from aegis.domain.ticks import BUY, Tick
from aegis.reference.recent import load_recent_history
from tests.support.app import running_app

# the first trading day after the real daily history shipped with AEGIS (005930 to 2026-10-02)
DAY = kst_midnight_us(__import__("datetime").date(2026, 10, 5))
PREV = load_recent_history("005930")[-1].close
T0 = DAY + 9 * 3600 * 1_000_000  # 09:00 KST


def samsung_ticks(n: int = 120) -> list[Tick]:
    # one tick every 30 s from 09:00: 60 one-minute candles
    return [
        Tick("005930", T0 + i * 30_000_000, 199_400 + (i % 7) * 100, 10 + i, BUY, i, "sim")
        for i in range(n)
    ]


def wait_for(pred: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.fixture
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_app(tmp_path, [samsung_ticks()]) as (client, rt, source):
        wait_for(lambda: source.ready.is_set())
        wait_for(lambda: rt.market is not None and rt.market.quote("005930") is not None)
        assert client.portal is not None and rt.ingest is not None
        client.portal.call(rt.ingest.flush)
        yield client, rt


def test_search_finds_samsung_by_initial_consonants(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    r = client.get("/api/v1/companies", params={"keyword": "ㅅㅅㅈㅈ"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == 200
    assert body["data"][0]["name"] == "삼성전자"
    assert body["data"][0]["code"] == "005930"


def test_search_by_code_and_name(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    assert client.get("/api/v1/companies?keyword=005930").json()["data"][0]["name"] == "삼성전자"
    names = [c["name"] for c in client.get("/api/v1/companies?keyword=삼성").json()["data"]]
    assert "삼성전자" in names
    assert client.get("/api/v1/companies?keyword=00104K").json()["data"][0]["code"] == "00104K"


def test_company_profile_and_unknown_company(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    cid = client.get("/api/v1/companies?keyword=005930").json()["data"][0]["companyId"]
    prof = client.get(f"/api/v1/companies/{cid}").json()["data"]
    assert prof["code"] == "005930"
    assert prof["shares"] > 5_000_000_000
    r = client.get("/api/v1/companies/99999999")
    assert r.status_code == 404
    assert r.json() == {
        "status": 404,
        "code": "NOT_FOUND",
        "message": "no company with id 99999999",
        "requestId": r.headers["x-request-id"],
    }


def test_ohlcv_returns_minute_candles_with_live_partial(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    cid = client.get("/api/v1/companies?keyword=005930").json()["data"][0]["companyId"]
    r = client.get(f"/api/v1/companies/{cid}/ohlcv", params={"interval": "1m", "limit": 1000})
    body = r.json()
    assert r.status_code == 200, body
    data = body["data"]
    assert len(data) == 60
    assert data[0]["time"] == T0 // 1_000_000
    assert set(data[0]) == {"time", "open", "high", "low", "close", "volume", "amount", "source"}
    assert {c["source"] for c in data} == {"sim"}
    first = samsung_ticks()[:2]
    assert data[0]["volume"] == sum(t.volume for t in first)
    assert data[0]["amount"] == sum(t.price * t.volume for t in first)
    assert body["meta"] == {"symbol": "005930", "interval": "1m", "source": "sim"}


def test_candles_by_code_downsampled(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    three = client.get("/api/v1/candles/005930", params={"interval": "3m"}).json()["data"]
    one = client.get("/api/v1/candles/005930", params={"interval": "1m"}).json()["data"]
    assert len(three) == 20
    assert three[0]["open"] == one[0]["open"]
    assert three[0]["close"] == one[2]["close"]
    assert three[0]["volume"] == sum(c["volume"] for c in one[:3])
    assert three[0]["high"] == max(c["high"] for c in one[:3])


def test_candles_limit_and_end_page_backwards(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    last10 = client.get("/api/v1/candles/005930?interval=1m&limit=10").json()["data"]
    assert len(last10) == 10
    older = client.get(
        f"/api/v1/candles/005930?interval=1m&limit=10&end={last10[0]['time']}"
    ).json()["data"]
    assert len(older) == 10
    assert older[-1]["time"] == last10[0]["time"] - 60


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("interval=7x", "allowed"),
        ("interval=7m", "does not divide a day"),
        ("interval=1m&limit=999999", "limit must be between 1 and"),
        ("interval=1m&start=2026-03-24&end=2026-03-23", "start must be before end"),
        ("interval=1m&start=yesterday", "is not a time"),
        ("interval=1m&limit=0", "limit"),
    ],
)
def test_bad_candle_queries_are_400_naming_what_is_allowed(app, query: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    r = client.get(f"/api/v1/candles/005930?{query}")
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == 400
    assert body["code"] == "INVALID_REQUEST"
    assert fragment in body["message"]


def test_unknown_symbol_is_404(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    r = client.get("/api/v1/candles/ZZZZZZ?interval=1m")
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
    assert client.get("/api/v1/quotes?symbols=005930,NOPE").status_code == 404


def test_missing_keyword_is_missing_field(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    r = client.get("/api/v1/companies")
    assert r.status_code == 400
    assert r.json()["code"] == "MISSING_FIELD"


def test_quotes_give_change_against_previous_close(app) -> None:  # type: ignore[no-untyped-def]
    client, rt = app
    q = client.get("/api/v1/quotes?symbols=005930").json()["data"][0]
    last = samsung_ticks()[-1]
    assert q["price"] == last.price
    assert q["prevClose"] == PREV  # the real 2026-10-02 close, the last shipped day
    assert q["change"] == last.price - PREV
    assert q["changePercent"] == round((last.price - PREV) * 100 / PREV, 2)
    assert q["volume"] == sum(t.volume for t in samsung_ticks())
    assert q["source"] == "sim"
    assert q["marketCap"] == last.price * rt.market.by_symbol["005930"].shares


def test_quotes_give_each_instrument_once(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    r = client.get("/api/v1/quotes", params={"symbols": "005930,000660,005930"})
    assert r.status_code == 200
    assert [q["symbol"] for q in r.json()["data"]] == ["005930", "000660"]


def test_status_health_metrics(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    assert client.get("/healthz").json() == {"status": "ok"}
    st = client.get("/api/v1/system/status").json()["data"]
    assert st["store"]["kind"] == "sqlite"
    assert st["bus"]["kind"] == "memory"
    assert st["sources"][0]["name"] == "scripted"
    assert st["sources"][0]["state"] == "live"
    assert st["riseColor"] == "red"
    m = client.get("/metrics")
    assert m.status_code == 200
    assert "aegis_ingest_accepted_total 120.0" in m.text


def test_openapi_has_stable_operation_ids(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = app
    spec = client.get("/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "searchCompanies",
        "getCompany",
        "getCompanyOhlcv",
        "getCandles",
        "getQuotes",
        "getSystemStatus",
    } <= ids
