"""GET /companies/{id}/indicators: TA-Lib's values over exactly the /ohlcv candles."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import talib
from talib._ta_lib import MA_Type

from aegis.core.timeutil import kst_day, kst_midnight_us, now_us
from aegis.domain.ticks import BUY, Tick
from tests.support.app import running_app

# two recent KST days, in the past and inside every retention window (1-minute candles: 90
# days), so the runtime's retention pass keeps them whenever it runs
FIRST = kst_day(now_us()) - timedelta(days=3)
DAY = kst_midnight_us(FIRST)
T0 = DAY + 9 * 3600 * 1_000_000


def _ticks() -> list[Tick]:
    # two KST days of minute trades, so the intraday VWAP must restart
    out = []
    for d in range(2):
        base = T0 + d * 86_400_000_000
        for i in range(90):
            price = 199_000 + ((i * 37 + d * 11) % 23) * 100
            out.append(
                Tick("005930", base + i * 20_000_000, price, 5 + i % 9, BUY, d * 1000 + i, "sim")
            )
    return out


def _wait(pred: object) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp: Path = tmp_path_factory.mktemp("ind")
    with running_app(tmp, [_ticks()]) as (client, rt, source):
        _wait(lambda: source.ready.is_set())
        _wait(lambda: rt.market is not None and rt.market.quote("005930") is not None)
        assert client.portal is not None and rt.ingest is not None
        client.portal.call(rt.ingest.flush)
        cid = client.get("/api/v1/companies?keyword=005930").json()["data"][0]["companyId"]
        yield client, cid


def _col(rows: list[dict[str, object]], key: str) -> np.ndarray:
    return np.asarray([float(r[key]) for r in rows], dtype=np.float64)  # type: ignore[arg-type]


def _same(got: list[object], want: np.ndarray) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want.tolist(), strict=True):
        if math.isnan(w):
            assert g is None
        else:
            assert g == pytest.approx(w, rel=1e-12, abs=1e-9)


ALL = (
    "sma_20,ema_20,wma_20,rsi_14,macd_12_26_9,bbands_20_2,stoch_14_3_3,atr_14,obv,mfi_14,"
    "adx_14,cci_20,willr_14,vwap"
)


def test_every_indicator_equals_talib_on_real_daily_candles(app) -> None:  # type: ignore[no-untyped-def]
    client, cid = app
    q = {"interval": "1d", "limit": 300, "end": "2026-03-21"}
    candles = client.get(f"/api/v1/companies/{cid}/ohlcv", params=q).json()["data"]
    assert len(candles) == 300  # the shipped real 005930 history
    r = client.get(f"/api/v1/companies/{cid}/indicators", params={**q, "names": ALL})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["data"]
    assert [row["time"] for row in rows] == [c["time"] for c in candles]
    o, h, low, c, v = (_col(candles, k) for k in ("open", "high", "low", "close", "volume"))
    del o

    def got(key: str) -> list[object]:
        return [row[key] for row in rows]

    _same(got("sma_20"), talib.SMA(c, 20))
    _same(got("ema_20"), talib.EMA(c, 20))
    _same(got("wma_20"), talib.WMA(c, 20))
    _same(got("rsi_14"), talib.RSI(c, 14))
    m, s, hist = talib.MACD(c, 12, 26, 9)
    _same(got("macd_12_26_9.macd"), m)
    _same(got("macd_12_26_9.signal"), s)
    _same(got("macd_12_26_9.hist"), hist)
    up, mid, lo = talib.BBANDS(c, 20, 2, 2, MA_Type.SMA)
    _same(got("bbands_20_2.upper"), up)
    _same(got("bbands_20_2.middle"), mid)
    _same(got("bbands_20_2.lower"), lo)
    k, d = talib.STOCH(h, low, c, 14, 3, MA_Type.SMA, 3, MA_Type.SMA)
    _same(got("stoch_14_3_3.k"), k)
    _same(got("stoch_14_3_3.d"), d)
    _same(got("atr_14"), talib.ATR(h, low, c, 14))
    _same(got("obv"), talib.OBV(c, v))
    _same(got("mfi_14"), talib.MFI(h, low, c, v, 14))
    _same(got("adx_14"), talib.ADX(h, low, c, 14))
    _same(got("cci_20"), talib.CCI(h, low, c, 20))
    _same(got("willr_14"), talib.WILLR(h, low, c, 14))
    # warm-up is null, not a made-up number
    assert rows[0]["sma_20"] is None and rows[19]["sma_20"] is not None
    assert body["meta"]["columns"][:2] == ["sma_20", "ema_20"]
    assert body["meta"]["candles"] == 300


def test_daily_vwap_is_anchored_at_the_first_returned_candle(app) -> None:  # type: ignore[no-untyped-def]
    client, cid = app
    q = {"interval": "1d", "limit": 30, "end": "2026-03-21"}
    candles = client.get(f"/api/v1/companies/{cid}/ohlcv", params=q).json()["data"]
    rows = client.get(f"/api/v1/companies/{cid}/indicators", params={**q, "names": "vwap"}).json()[
        "data"
    ]
    value = vol = 0.0
    for cnd, row in zip(candles, rows, strict=True):
        tp = (cnd["high"] + cnd["low"] + cnd["close"]) / 3
        value += cnd["amount"] if cnd["amount"] else tp * cnd["volume"]  # None: not in the data
        vol += cnd["volume"]
        assert row["vwap"] == pytest.approx(value / vol)


def test_intraday_vwap_restarts_each_kst_day(app) -> None:  # type: ignore[no-untyped-def]
    client, cid = app
    end = FIRST + timedelta(days=2)
    q = {"interval": "1m", "start": FIRST.isoformat(), "end": end.isoformat(), "limit": 1000}
    candles = client.get(f"/api/v1/companies/{cid}/ohlcv", params=q).json()["data"]
    rows = client.get(f"/api/v1/companies/{cid}/indicators", params={**q, "names": "vwap,sma_5"})
    data = rows.json()["data"]
    assert len(data) == len(candles) == 60  # 30 minutes on each of two days
    # the first bar of the second day is its own VWAP: amount / volume
    first2 = 30
    assert data[first2]["vwap"] == pytest.approx(
        candles[first2]["amount"] / candles[first2]["volume"]
    )
    _same([r["sma_5"] for r in data], talib.SMA(_col(candles, "close"), 5))


def test_same_query_as_ohlcv_with_limit_and_start(app) -> None:  # type: ignore[no-untyped-def]
    client, cid = app
    q = {"interval": "1w", "start": "2025-01-01", "limit": 40}
    candles = client.get(f"/api/v1/companies/{cid}/ohlcv", params=q).json()["data"]
    rows = client.get(f"/api/v1/companies/{cid}/indicators", params={**q, "names": "ema_10"}).json()
    assert [r["time"] for r in rows["data"]] == [c["time"] for c in candles]
    _same([r["ema_10"] for r in rows["data"]], talib.EMA(_col(candles, "close"), 10))


@pytest.mark.parametrize(
    "names",
    [
        "foo_3",
        "sma_20,nope",
        "sma_x",
        "sma_0",
        "sma_1",
        "macd_26_12_9",
        "sma_1_2",
        "bbands_20_99",
        "",
    ],
)
def test_bad_names_are_400_listing_the_valid_ones(app, names: str) -> None:  # type: ignore[no-untyped-def]
    client, cid = app
    r = client.get(f"/api/v1/companies/{cid}/indicators", params={"names": names})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "INVALID_REQUEST"
    assert "sma_20" in body["details"]["valid"] and "vwap" in body["details"]["valid"]


def test_missing_names_is_400_listing_the_valid_ones(app) -> None:  # type: ignore[no-untyped-def]
    client, cid = app
    r = client.get(f"/api/v1/companies/{cid}/indicators")
    assert r.status_code == 400
    assert "rsi_14" in r.json()["message"]


def test_unknown_company_404_and_bad_interval_400(app) -> None:  # type: ignore[no-untyped-def]
    client, cid = app
    r = client.get("/api/v1/companies/99999999/indicators", params={"names": "sma_20"})
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = client.get(
        f"/api/v1/companies/{cid}/indicators", params={"names": "sma_20", "interval": "7m"}
    )
    assert r.status_code == 400
    r = client.get(
        f"/api/v1/companies/{cid}/indicators",
        params={"names": "sma_20", "start": "2026-03-02", "end": "2026-03-01"},
    )
    assert r.status_code == 400
