"""Orders, fills and rejection reasons. Money is whole won (int) everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class OrderStatus(StrEnum):
    NEW = "NEW"  # stored, not yet acknowledged by the broker
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"  # the broker did not answer: resolved only by reconciliation


TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
# orders that may still fill, so they hold cash or shares
WORKING = frozenset(
    {
        OrderStatus.NEW,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.UNKNOWN,
    }
)


class Reason(StrEnum):
    """Why an order was refused (``details.reason`` of a 400 ORDER_REJECTED)."""

    TICK_SIZE = "TICK_SIZE"
    PRICE_LIMIT = "PRICE_LIMIT"
    INSUFFICIENT_CASH = "INSUFFICIENT_CASH"
    INSUFFICIENT_POSITION = "INSUFFICIENT_POSITION"
    MARKET_CLOSED = "MARKET_CLOSED"
    TRADING_OFF = "TRADING_OFF"
    HALTED = "HALTED"
    MAX_POSITION = "MAX_POSITION"
    MAX_ORDER_VALUE = "MAX_ORDER_VALUE"
    ORDER_RATE = "ORDER_RATE"
    DUPLICATE = "DUPLICATE"
    BROKER = "BROKER"  # refused by the broker after sending (order stored as REJECTED)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType
    quantity: int
    price: int | None = None
    client_order_id: str | None = None
    strategy: str | None = None

    def same_as(self, other: OrderRequest) -> bool:
        """Same economic content (what a retry with the same clientOrderId must carry)."""
        return (self.symbol, self.side, self.type, self.quantity, self.price) == (
            other.symbol,
            other.side,
            other.type,
            other.quantity,
            other.price,
        )


@dataclass(slots=True)
class Order:
    order_id: str
    account_id: int
    symbol: str
    side: Side
    type: OrderType
    quantity: int
    price: int | None
    client_order_id: str | None
    created_at: int  # UTC µs
    strategy: str | None = None
    entered_at: int = 0  # market (tape) time when the order was placed
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: int = 0
    filled_amount: int = 0  # Σ price × qty of fills
    reason: str | None = None
    broker_order_id: str | None = None
    # price a working buy holds cash at (limit, or the upper price limit for market buys)
    reserve_price: int = 0
    # cash held for a working buy (reserve_price × remaining + commission), released as it fills
    reserved_cash: int = 0
    updated_at: int = 0
    fills: int = 0  # number of fills so far (names trade ids)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def working(self) -> bool:
        return self.status in WORKING

    @property
    def average_fill_price(self) -> float | None:
        if not self.filled_quantity:
            return None
        return round(self.filled_amount / self.filled_quantity, 2)

    def request(self) -> OrderRequest:
        return OrderRequest(
            self.symbol, self.side, self.type, self.quantity, self.price, self.client_order_id
        )


@dataclass(frozen=True, slots=True)
class Fill:
    trade_id: str
    order_id: str
    account_id: int
    symbol: str
    side: Side
    price: int
    quantity: int
    commission: int
    tax: int
    realized_pnl: int  # sells: net of both commissions and tax; buys: 0
    ts: int
    strategy: str | None = None

    @property
    def amount(self) -> int:
        return self.price * self.quantity


@dataclass(slots=True)
class Position:
    symbol: str
    quantity: int = 0
    cost: int = 0  # Σ buy amounts of the shares held (매입금액, fees excluded)
    fee_cost: int = 0  # buy commissions of the shares held, charged to P&L when they are sold
    realized_pnl: int = 0
    last_buy_day: int = 0  # KST ordinal day of the latest buy (for the day's P&L)
    # shares bought on ``last_buy_day`` and their amount; the day's sells take the shares
    # held overnight first, so min(quantity, day_bought) of today's buys are still held
    day_bought: int = 0
    day_bought_cost: int = 0

    @property
    def average_price(self) -> float:
        return round(self.cost / self.quantity, 2) if self.quantity else 0.0


@dataclass(slots=True)
class Limits:
    """Per-account safety limits, in won (0 = no limit)."""

    max_position_value: int = 0  # per symbol, at order price
    max_total_position_value: int = 0
    max_order_value: int = 0
    max_orders_per_minute: int = 0
    max_daily_loss: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "maxPositionValue": self.max_position_value,
            "maxTotalPositionValue": self.max_total_position_value,
            "maxOrderValue": self.max_order_value,
            "maxOrdersPerMinute": self.max_orders_per_minute,
            "maxDailyLoss": self.max_daily_loss,
        }

    @classmethod
    def from_dict(cls, d: dict[str, int]) -> Limits:
        return cls(
            int(d.get("maxPositionValue", 0)),
            int(d.get("maxTotalPositionValue", 0)),
            int(d.get("maxOrderValue", 0)),
            int(d.get("maxOrdersPerMinute", 0)),
            int(d.get("maxDailyLoss", 0)),
        )


class SafetyState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only orders that shrink a position
    HALTED = "HALTED"


@dataclass(slots=True)
class Trigger:
    kind: str
    message: str
    ts: int
    details: dict[str, object] = field(default_factory=dict)
