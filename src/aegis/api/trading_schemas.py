"""Wire schemas of the trading API (camelCase), with examples for OpenAPI."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, FiniteFloat, StrictInt

from aegis.api.schemas import Envelope, Wire


class OrderIn(Wire):
    symbol: str = Field(min_length=1, max_length=12, examples=["005930"])
    side: Literal["BUY", "SELL"] = Field(examples=["BUY"])
    type: Literal["LIMIT", "MARKET"] = Field(examples=["LIMIT"])
    quantity: StrictInt = Field(examples=[10], description="whole shares, > 0")
    price: StrictInt | None = Field(
        default=None, examples=[71_500], description="LIMIT only: won, on the KRX tick grid"
    )
    client_order_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        examples=["my-order-0001"],
        description="makes a retry idempotent: the same id returns the first order",
    )


class OrderOut(Wire):
    order_id: str = Field(examples=["3f0c9c1e5b2a4d7e9a8b6c5d4e3f2a1b"])
    client_order_id: str | None
    symbol: str
    side: Literal["BUY", "SELL"]
    type: Literal["LIMIT", "MARKET"]
    quantity: int
    price: int | None
    status: Literal[
        "NEW",
        "ACCEPTED",
        "PARTIALLY_FILLED",
        "FILLED",
        "CANCELLED",
        "REJECTED",
        "EXPIRED",
        "UNKNOWN",
    ]
    filled_quantity: int
    average_fill_price: float | None
    created_at: str = Field(examples=["2026-03-02T01:00:00.000Z"])
    updated_at: str
    reason: str | None
    strategy: str | None


class PositionOut(Wire):
    symbol: str = Field(examples=["005930"])
    name: str = Field(examples=["삼성전자"])
    quantity: int
    average_price: float = Field(description="매입평균가, fees excluded")
    market_price: int | None
    market_value: int
    unrealized_pnl: int
    realized_pnl: int = Field(description="net of commission and tax")
    cost: int


class PortfolioOut(Wire):
    account_id: int
    kind: Literal["paper", "kis"]
    cash: int
    available_cash: int = Field(description="cash not held by open buy orders")
    initial_cash: int
    market_value: int
    total_value: int
    realized_pnl: int
    unrealized_pnl: int
    day_pnl: int
    positions: list[PositionOut]


class ResetIn(Wire):
    cash: StrictInt | None = Field(default=None, ge=0, examples=[10_000_000])


class TradeOut(Wire):
    trade_id: str
    order_id: str
    symbol: str
    side: Literal["BUY", "SELL"]
    price: int
    quantity: int
    amount: int
    commission: int
    tax: int
    realized_pnl: int
    time: str
    strategy: str | None


class PageMeta(Wire):
    total: int
    page: int
    page_size: int
    total_pages: int


class TradePage(Envelope[list[TradeOut]]):
    meta: PageMeta


class LimitsIn(Wire):
    max_position_value: StrictInt = Field(default=0, ge=0, description="won per symbol; 0 = off")
    max_total_position_value: StrictInt = Field(default=0, ge=0)
    max_order_value: StrictInt = Field(default=0, ge=0, examples=[5_000_000])
    max_orders_per_minute: StrictInt = Field(default=0, ge=0, examples=[30])
    max_daily_loss: StrictInt = Field(default=0, ge=0, examples=[300_000])


class TriggerOut(Wire):
    kind: str = Field(examples=["KILL_SWITCH"])
    message: str
    time: int = Field(description="UTC epoch µs")
    details: dict[str, object]


class TradingStatusOut(Wire):
    account_id: int
    kind: Literal["paper", "kis"]
    enabled: bool
    state: Literal["ACTIVE", "REDUCING", "HALTED"]
    limits: LimitsIn
    triggers: list[TriggerOut]
    open_orders: int


class StateIn(Wire):
    state: Literal["ACTIVE", "REDUCING", "HALTED"]
    reason: str = Field(default="by user", max_length=200)


class BacktestIn(Wire):
    strategy: str = Field(examples=["ma_cross"])
    symbols: list[str] = Field(min_length=1, max_length=50, examples=[["005930", "000660"]])
    start: str = Field(alias="from", examples=["2024-01-01"])
    end: str = Field(alias="to", examples=["2025-01-01"])
    interval: str = Field(default="1d", examples=["1d"])
    # NaN/Infinity parse from JSON bodies; no strategy parameter can use them
    params: dict[str, FiniteFloat | int | str] = Field(default_factory=dict, examples=[{"fast": 5}])
    cash: StrictInt = Field(default=10_000_000, gt=0)


class BacktestSummary(Wire):
    id: int
    strategy: str
    params: dict[str, object]
    created_at: str


class BacktestReport(Wire):
    id: int
    strategy: str
    params: dict[str, object]
    symbols: list[str]
    interval: str
    candles: int
    initial_cash: int
    final_equity: int
    total_return: float
    cagr: float | None
    max_drawdown: float
    sharpe: float | None
    trades: int
    round_trips: int
    win_rate: float | None
    commission: int
    tax: int
    per_symbol: list[dict[str, object]]
    equity_curve: list[dict[str, int]]
    fills: list[dict[str, object]]
