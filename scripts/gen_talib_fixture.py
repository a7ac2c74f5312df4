"""Regenerate web/tests/fixtures/talib_005930.json (TA-Lib reference values for the web
chart studies). Run from the repository root: uv run python scripts/gen_talib_fixture.py"""

import csv, json, math
import numpy as np, talib

rows = list(csv.DictReader(open("../shared/data/ohlcv_daily_005930_quantkang.csv")))[-120:]
c = np.array([float(r["close"]) for r in rows])


def clean(a):
    return [None if math.isnan(x) else round(float(x), 9) for x in a]


m, s, h = talib.MACD(c, 12, 26, 9)
u, mid, l = talib.BBANDS(c, 20, 2, 2, 0)
out = {
    "source": "shared/data/ohlcv_daily_005930_quantkang.csv, last 120 closes "
    + rows[0]["date"]
    + "–"
    + rows[-1]["date"]
    + "; values from TA-Lib "
    + talib.__version__,
    "close": [float(x) for x in c],
    "sma20": clean(talib.SMA(c, 20)),
    "ema20": clean(talib.EMA(c, 20)),
    "rsi14": clean(talib.RSI(c, 14)),
    "macd": clean(m),
    "signal": clean(s),
    "hist": clean(h),
    "upper": clean(u),
    "middle": clean(mid),
    "lower": clean(l),
}
json.dump(out, open("web/tests/fixtures/talib_005930.json", "w"))
