"""The indicators against TA-Lib's algorithms written out by hand: first valid index (lookback),
seeding (EMA from the SMA of its first window, MACD's fast EMA seeded where the slow one starts,
Wilder's RSI/ATR), population standard deviation, and the values."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from aegis.research.indicators import compute, parse_names
from aegis.research.indicators.compute import Bars

N = 120
NaN = math.nan


def _bars() -> Bars:
    rng = random.Random(7)
    close, rows = 50_000.0, []
    for i in range(N):
        close = max(1_000.0, close + rng.choice((-1, 1)) * rng.randint(0, 900))
        o = close + rng.randint(-400, 400)
        h = max(o, close) + rng.randint(0, 600)
        low = min(o, close) - rng.randint(0, 600)
        v = rng.randint(1_000, 90_000)
        rows.append(
            {"time": 1_700_000_000 + i * 86_400, "open": o, "high": h, "low": low,
             "close": close, "volume": v, "amount": None}
        )  # fmt: skip
    return Bars.from_rows(rows, intraday=False)


B = _bars()
C, H, L, V = B.close.tolist(), B.high.tolist(), B.low.tolist(), B.volume.tolist()


def sma(x: list[float], n: int, first: int = 0) -> list[float]:
    out = [NaN] * len(x)
    for i in range(first + n - 1, len(x)):
        out[i] = sum(x[i - n + 1 : i + 1]) / n
    return out


def ema(x: list[float], n: int, seed_at: int | None = None) -> list[float]:
    """TA-Lib: seeded at ``seed_at`` (default n-1) with the mean of the n values ending there."""
    k = 2 / (n + 1)
    at = n - 1 if seed_at is None else seed_at
    out = [NaN] * len(x)
    out[at] = sum(x[at - n + 1 : at + 1]) / n
    for i in range(at + 1, len(x)):
        out[i] = k * x[i] + (1 - k) * out[i - 1]
    return out


def rsi(x: list[float], n: int) -> list[float]:
    out = [NaN] * len(x)
    gains = [max(x[i] - x[i - 1], 0.0) for i in range(1, n + 1)]
    losses = [max(x[i - 1] - x[i], 0.0) for i in range(1, n + 1)]
    g, lo = sum(gains) / n, sum(losses) / n
    out[n] = 100 * g / (g + lo) if g + lo else 0.0
    for i in range(n + 1, len(x)):
        d = x[i] - x[i - 1]
        g = (g * (n - 1) + max(d, 0.0)) / n
        lo = (lo * (n - 1) + max(-d, 0.0)) / n
        out[i] = 100 * g / (g + lo) if g + lo else 0.0
    return out


def macd(x: list[float], fast: int, slow: int, signal: int) -> tuple[list[float], ...]:
    # both EMAs start at the slow one's first index; the fast one is seeded there with the
    # mean of its own last `fast` values (TA-Lib's INT_MACD), not at index fast-1
    f, s = ema(x, fast, seed_at=slow - 1), ema(x, slow)
    line = [a - b for a, b in zip(f, s, strict=True)]
    sig = [NaN] * len(x)
    sig_start = slow - 1 + signal - 1
    sig[sig_start:] = ema(line[slow - 1 :], signal)[signal - 1 :]
    first = sig_start
    m = [v if i >= first else NaN for i, v in enumerate(line)]
    hist = [a - b if i >= first else NaN for i, (a, b) in enumerate(zip(m, sig, strict=True))]
    return m, sig, hist


def bbands(x: list[float], n: int, k: float) -> tuple[list[float], ...]:
    mid = sma(x, n)
    up, low = [NaN] * len(x), [NaN] * len(x)
    for i in range(n - 1, len(x)):
        w = x[i - n + 1 : i + 1]
        sd = math.sqrt(sum((v - mid[i]) ** 2 for v in w) / n)  # population
        up[i], low[i] = mid[i] + k * sd, mid[i] - k * sd
    return up, mid, low


def stoch(kp: int, sk: int, sd: int) -> tuple[list[float], list[float]]:
    fast = [NaN] * N
    for i in range(kp - 1, N):
        hh, ll = max(H[i - kp + 1 : i + 1]), min(L[i - kp + 1 : i + 1])
        fast[i] = 100 * (C[i] - ll) / (hh - ll) if hh != ll else 0.0
    slow_k = sma(fast, sk, kp - 1)
    slow_d = sma(slow_k, sd, kp - 1 + sk - 1)
    first = kp - 1 + sk - 1 + sd - 1
    return [v if i >= first else NaN for i, v in enumerate(slow_k)], slow_d


def atr(n: int) -> list[float]:
    tr = [NaN] + [max(H[i] - L[i], abs(H[i] - C[i - 1]), abs(L[i] - C[i - 1])) for i in range(1, N)]
    out = [NaN] * N
    out[n] = sum(tr[1 : n + 1]) / n
    for i in range(n + 1, N):
        out[i] = (out[i - 1] * (n - 1) + tr[i]) / n
    return out


def obv() -> list[float]:
    out = [V[0]]
    for i in range(1, N):
        step = V[i] if C[i] > C[i - 1] else -V[i] if C[i] < C[i - 1] else 0.0
        out.append(out[-1] + step)
    return out


def willr(n: int) -> list[float]:
    out = [NaN] * N
    for i in range(n - 1, N):
        hh, ll = max(H[i - n + 1 : i + 1]), min(L[i - n + 1 : i + 1])
        out[i] = -100 * (hh - C[i]) / (hh - ll) if hh != ll else 0.0
    return out


def wma(x: list[float], n: int) -> list[float]:
    out = [NaN] * len(x)
    total = n * (n + 1) / 2
    for i in range(n - 1, len(x)):
        out[i] = sum(x[i - n + 1 + j] * (j + 1) for j in range(n)) / total
    return out


def cci(n: int) -> list[float]:
    tp = [(h + lo + c) / 3 for h, lo, c in zip(H, L, C, strict=True)]
    out = [NaN] * N
    for i in range(n - 1, N):
        w = tp[i - n + 1 : i + 1]
        m = sum(w) / n
        md = sum(abs(v - m) for v in w) / n
        out[i] = (tp[i] - m) / (0.015 * md) if md else 0.0
    return out


def mfi(n: int) -> list[float]:
    tp = [(h + lo + c) / 3 for h, lo, c in zip(H, L, C, strict=True)]
    pos = [0.0] + [tp[i] * V[i] if tp[i] > tp[i - 1] else 0.0 for i in range(1, N)]
    neg = [0.0] + [tp[i] * V[i] if tp[i] < tp[i - 1] else 0.0 for i in range(1, N)]
    out = [NaN] * N
    for i in range(n, N):
        p, q = sum(pos[i - n + 1 : i + 1]), sum(neg[i - n + 1 : i + 1])
        out[i] = 100 * p / (p + q) if p + q else 0.0
    return out


CASES: dict[str, list[float] | tuple[list[float], ...]] = {
    "sma_20": sma(C, 20),
    "ema_20": ema(C, 20),
    "wma_10": wma(C, 10),
    "rsi_14": rsi(C, 14),
    "macd_12_26_9": macd(C, 12, 26, 9),
    "macd_5_35_5": macd(C, 5, 35, 5),
    "bbands_20_2": bbands(C, 20, 2.0),
    "bbands_10_1.5": bbands(C, 10, 1.5),
    "stoch_14_3_3": stoch(14, 3, 3),
    "atr_14": atr(14),
    "obv": obv(),
    "willr_14": willr(14),
    "cci_20": cci(20),
    "mfi_14": mfi(14),
}
LOOKBACK = {"sma_20": 19, "ema_20": 19, "wma_10": 9, "rsi_14": 14, "macd_12_26_9": 33,
            "macd_5_35_5": 38, "bbands_20_2": 19, "bbands_10_1.5": 9, "stoch_14_3_3": 17,
            "atr_14": 14, "obv": 0, "willr_14": 13, "cci_20": 19, "mfi_14": 14}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_indicator_equals_the_hand_written_ta_lib_algorithm(name: str) -> None:
    spec = parse_names(name)[0]
    rows = compute([spec], B)
    want = CASES[name]
    expected = [want] if isinstance(want, list) else list(want)
    for column, values in zip(spec.columns, expected, strict=True):
        got = [r[column] for r in rows]
        first = next(i for i, g in enumerate(got) if g is not None)
        assert first == LOOKBACK[name], column  # TA-Lib's lookback: nulls before, none after
        assert all(g is not None for g in got[first:]), column
        np.testing.assert_allclose(
            np.asarray(got[first:], dtype=np.float64), values[first:], rtol=1e-9, atol=1e-7
        )
