"""The strategy interface. A strategy sees candles (and ticks when live) and places orders
through its context; it never knows whether it runs live, on paper or in a backtest.

    class MyStrategy(Strategy):
        name = "my"
        def on_candle(self, ctx, bar):
            if bar.close > 70_000 and not ctx.position(bar.symbol):
                ctx.buy(bar.symbol, ctx.affordable(bar.symbol, bar.close))

Orders placed in ``on_candle`` are market orders for the next trades unless given a price
(a limit, snapped to the KRX tick grid by the context).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from aegis.domain.ticks import Tick


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    start: int  # UTC µs
    open: int
    high: int
    low: int
    close: int
    volume: int


@dataclass(frozen=True, slots=True)
class FillInfo:
    symbol: str
    side: str  # BUY | SELL
    quantity: int
    price: int
    realized_pnl: int


class Context(ABC):
    """What a strategy can ask and do."""

    symbols: list[str]
    params: dict[str, Any]

    @abstractmethod
    def position(self, symbol: str) -> int: ...

    @abstractmethod
    def cash(self) -> int: ...

    @abstractmethod
    def equity(self) -> int: ...

    @abstractmethod
    def buy(self, symbol: str, quantity: int, price: int | None = None) -> None: ...

    @abstractmethod
    def sell(self, symbol: str, quantity: int, price: int | None = None) -> None: ...

    def affordable(self, symbol: str, price: int, share: float | None = None) -> int:
        """Whole shares of ``symbol`` worth ``share`` of equity (default: an equal slice per
        symbol), capped by cash."""
        if price <= 0:
            return 0
        slice_ = share if share is not None else 1 / max(1, len(self.symbols))
        budget = min(self.cash(), int(self.equity() * slice_))
        return max(0, int(budget // (price * 1.0002)))  # room for commission


class Strategy(ABC):
    name: ClassVar[str] = "strategy"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ValueError(f"unknown parameters for {self.name}: {sorted(unknown)}")
        self.params = {**self.defaults, **params}

    def on_start(self, ctx: Context) -> None:  # noqa: B027 - optional hook
        """Before the first candle."""

    @abstractmethod
    def on_candle(self, ctx: Context, bar: Bar) -> None: ...

    def on_tick(self, ctx: Context, tick: Tick) -> None:  # noqa: B027 - optional hook
        """Live and paper only: each trade of a watched symbol."""

    def on_fill(self, ctx: Context, fill: FillInfo) -> None:  # noqa: B027 - optional hook
        """After each fill of this strategy's orders."""
