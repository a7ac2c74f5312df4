"""Indicator values over a list of candles, by TA-Lib itself (so they equal its definitions);
NaN (TA-Lib's warm-up) becomes ``None``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import talib
from numpy.typing import NDArray
from talib._ta_lib import MA_Type

from aegis.core.timeutil import kst_day
from aegis.research.indicators.catalog import IndicatorSpec

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Bars:
    """Candle columns as floats in display units (won, shares, won)."""

    time: list[int]  # bucket start, epoch seconds (as /ohlcv answers)
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array
    amount: Array
    intraday: bool  # minute/hour bars: VWAP restarts each KST trading day

    @classmethod
    def from_rows(
        cls, rows: Sequence[Mapping[str, float | int | str | None]], *, intraday: bool
    ) -> Bars:
        def col(key: str) -> Array:
            # a missing value (an index's unknown traded amount) is NaN: what uses it is null
            return np.asarray(
                [math.nan if r[key] is None else float(r[key]) for r in rows],  # type: ignore[arg-type]
                dtype=np.float64,
            )

        return cls(
            [int(r["time"]) for r in rows],  # type: ignore[arg-type]
            col("open"),
            col("high"),
            col("low"),
            col("close"),
            col("volume"),
            col("amount"),
            intraday,
        )


def vwap(b: Bars) -> Array:
    """Σ traded value / Σ volume, restarted each KST day for intraday bars and anchored at the
    first returned bar for daily and longer ones. A bar's traded value is its ``amount`` (the
    exact Σ price × volume of its trades) or, where a source gives none, typical price × volume."""
    typical = (b.high + b.low + b.close) / 3.0
    value = np.where(b.amount > 0, b.amount, typical * b.volume)
    out = np.full(len(b.time), np.nan)
    cum_v = cum_pv = 0.0
    day = None
    for i, t in enumerate(b.time):
        if b.intraday:
            d = kst_day(t * 1_000_000)
            if d != day:
                day, cum_v, cum_pv = d, 0.0, 0.0
        cum_v += float(b.volume[i])
        cum_pv += float(value[i])
        if cum_v > 0:
            out[i] = cum_pv / cum_v
    return out


def _outputs(spec: IndicatorSpec, b: Bars) -> list[Array]:
    p = [int(x) for x in spec.params]
    k = spec.kind.name
    h, low, c, v = b.high, b.low, b.close, b.volume
    if k == "sma":
        return [talib.SMA(c, timeperiod=p[0])]
    if k == "ema":
        return [talib.EMA(c, timeperiod=p[0])]
    if k == "wma":
        return [talib.WMA(c, timeperiod=p[0])]
    if k == "rsi":
        return [talib.RSI(c, timeperiod=p[0])]
    if k == "macd":
        return list(talib.MACD(c, fastperiod=p[0], slowperiod=p[1], signalperiod=p[2]))
    if k == "bbands":
        dev = float(spec.params[1])
        return list(talib.BBANDS(c, timeperiod=p[0], nbdevup=dev, nbdevdn=dev, matype=MA_Type.SMA))
    if k == "stoch":
        return list(
            talib.STOCH(
                h, low, c, fastk_period=p[0], slowk_period=p[1], slowk_matype=MA_Type.SMA,
                slowd_period=p[2], slowd_matype=MA_Type.SMA,
            )
        )  # fmt: skip
    if k == "atr":
        return [talib.ATR(h, low, c, timeperiod=p[0])]
    if k == "obv":
        return [talib.OBV(c, v)]
    if k == "mfi":
        return [talib.MFI(h, low, c, v, timeperiod=p[0])]
    if k == "adx":
        return [talib.ADX(h, low, c, timeperiod=p[0])]
    if k == "cci":
        return [talib.CCI(h, low, c, timeperiod=p[0])]
    if k == "willr":
        return [talib.WILLR(h, low, c, timeperiod=p[0])]
    if k == "vwap":
        return [vwap(b)]
    raise AssertionError(f"no computation for {k}")  # the catalog and this table agree


def _clean(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else x


def compute(specs: Sequence[IndicatorSpec], b: Bars) -> list[dict[str, float | int | None]]:
    """One row per bar: ``{"time": …, "<name>" | "<name>.<part>": value | None, …}``."""
    rows: list[dict[str, float | int | None]] = [{"time": t} for t in b.time]
    if not rows:
        return rows
    for spec in specs:
        for column, values in zip(spec.columns, _outputs(spec, b), strict=True):
            for row, x in zip(rows, values.tolist(), strict=True):
                row[column] = _clean(x)
    return rows
