"""Built-in strategies: moving-average cross, breakout, RSI mean reversion. Indicators are
kept incrementally (O(1) per candle) so a year of minute bars runs in seconds."""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

from aegis.trading.strategies.base import Bar, Context, Strategy


class _Rolling:
    """Running sum over the last ``n`` values."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.values: deque[int] = deque()
        self.total = 0

    def push(self, v: int) -> None:
        self.values.append(v)
        self.total += v
        if len(self.values) > self.n:
            self.total -= self.values.popleft()

    @property
    def full(self) -> bool:
        return len(self.values) == self.n

    @property
    def mean(self) -> float:
        return self.total / len(self.values)


class MovingAverageCross(Strategy):
    """Buy when the fast average crosses above the slow one (golden cross), sell on the
    dead cross."""

    name = "ma_cross"
    defaults: ClassVar[dict[str, Any]] = {"fast": 5, "slow": 20}

    def on_start(self, ctx: Context) -> None:
        fast, slow = int(self.params["fast"]), int(self.params["slow"])
        if not 0 < fast < slow:
            raise ValueError("ma_cross needs 0 < fast < slow")
        self.fast = {s: _Rolling(fast) for s in ctx.symbols}
        self.slow = {s: _Rolling(slow) for s in ctx.symbols}
        self.above: dict[str, bool | None] = dict.fromkeys(ctx.symbols)

    def on_candle(self, ctx: Context, bar: Bar) -> None:
        f, s = self.fast[bar.symbol], self.slow[bar.symbol]
        f.push(bar.close)
        s.push(bar.close)
        if not s.full:
            return
        above = f.mean > s.mean
        was = self.above[bar.symbol]
        self.above[bar.symbol] = above
        if was is None or was == above:
            return
        held = ctx.position(bar.symbol)
        if above and not held:
            qty = ctx.affordable(bar.symbol, bar.close)
            if qty:
                ctx.buy(bar.symbol, qty)
        elif not above and held:
            ctx.sell(bar.symbol, held)


class Breakout(Strategy):
    """Buy a close above the highest high of the last ``lookback`` bars; sell a close below
    the lowest low of the last ``exit`` bars."""

    name = "breakout"
    defaults: ClassVar[dict[str, Any]] = {"lookback": 20, "exit": 10}

    def on_start(self, ctx: Context) -> None:
        n, m = int(self.params["lookback"]), int(self.params["exit"])
        if n < 1 or m < 1:
            raise ValueError("breakout needs positive windows")
        self.highs = {s: deque[int](maxlen=n) for s in ctx.symbols}
        self.lows = {s: deque[int](maxlen=m) for s in ctx.symbols}

    def on_candle(self, ctx: Context, bar: Bar) -> None:
        highs, lows = self.highs[bar.symbol], self.lows[bar.symbol]
        held = ctx.position(bar.symbol)
        if highs.maxlen is not None and len(highs) == highs.maxlen:
            if not held and bar.close > max(highs):
                qty = ctx.affordable(bar.symbol, bar.close)
                if qty:
                    ctx.buy(bar.symbol, qty)
            elif held and lows and bar.close < min(lows):
                ctx.sell(bar.symbol, held)
        highs.append(bar.high)
        lows.append(bar.low)


class RsiMeanReversion(Strategy):
    """Wilder's RSI: buy when it falls below ``low``, sell when it rises above ``high``."""

    name = "rsi"
    defaults: ClassVar[dict[str, Any]] = {"period": 14, "low": 30, "high": 70}

    def on_start(self, ctx: Context) -> None:
        self.period = int(self.params["period"])
        if self.period < 2:
            raise ValueError("rsi needs period ≥ 2")
        self.prev: dict[str, int | None] = dict.fromkeys(ctx.symbols)
        self.gain = dict.fromkeys(ctx.symbols, 0.0)
        self.loss = dict.fromkeys(ctx.symbols, 0.0)
        self.count = dict.fromkeys(ctx.symbols, 0)

    def rsi(self, symbol: str, close: int) -> float | None:
        prev = self.prev[symbol]
        self.prev[symbol] = close
        if prev is None:
            return None
        change = close - prev
        up, down = max(change, 0), max(-change, 0)
        n = self.period
        c = self.count[symbol] = self.count[symbol] + 1
        if c <= n:  # seed with the simple average of the first ``n`` changes
            self.gain[symbol] += up / n
            self.loss[symbol] += down / n
            if c < n:
                return None
        else:
            self.gain[symbol] = (self.gain[symbol] * (n - 1) + up) / n
            self.loss[symbol] = (self.loss[symbol] * (n - 1) + down) / n
        g, lo = self.gain[symbol], self.loss[symbol]
        if lo == 0:
            return 100.0
        return 100 - 100 / (1 + g / lo)

    def on_candle(self, ctx: Context, bar: Bar) -> None:
        value = self.rsi(bar.symbol, bar.close)
        if value is None:
            return
        held = ctx.position(bar.symbol)
        if value < float(self.params["low"]) and not held:
            qty = ctx.affordable(bar.symbol, bar.close)
            if qty:
                ctx.buy(bar.symbol, qty)
        elif value > float(self.params["high"]) and held:
            ctx.sell(bar.symbol, held)


BUILTINS: dict[str, type[Strategy]] = {
    s.name: s for s in (MovingAverageCross, Breakout, RsiMeanReversion)
}
