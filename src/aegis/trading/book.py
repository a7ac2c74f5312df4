"""An account's state as a pure fold of its event log: cash, positions, orders, safety switches.
Nothing here does I/O; the service stores an event first and then applies it, so memory never
holds what the log does not, and a restart rebuilds exactly the same state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aegis.core.timeutil import kst_day
from aegis.trading.fees import FeeSchedule
from aegis.trading.models import (
    Fill,
    Limits,
    Order,
    OrderStatus,
    OrderType,
    Position,
    SafetyState,
    Side,
    Trigger,
)

# the order state machine: allowed status changes other than by fills
_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset(
        {
            OrderStatus.ACCEPTED,
            OrderStatus.REJECTED,
            OrderStatus.UNKNOWN,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,  # found at the broker after a restart, its session over
        }
    ),
    # the exchange can refuse an order the broker already took (KIS: RFUS_YN, rjct_qty)
    OrderStatus.ACCEPTED: frozenset(
        {
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
            OrderStatus.UNKNOWN,
            OrderStatus.FILLED,
            OrderStatus.REJECTED,
        }
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.UNKNOWN, OrderStatus.FILLED}
    ),
    OrderStatus.UNKNOWN: frozenset(
        {
            OrderStatus.ACCEPTED,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.REJECTED,
            OrderStatus.EXPIRED,
        }
    ),
}


class IllegalTransition(Exception):
    pass


def check_transition(order: Order, to: OrderStatus) -> None:
    if to not in _NEXT.get(order.status, frozenset()):
        raise IllegalTransition(f"order {order.order_id}: {order.status} → {to} is not allowed")


@dataclass(eq=False)
class Account:
    account_id: int
    user_id: int
    kind: str  # "paper" | "kis"
    fees: FeeSchedule
    initial_cash: int = 0
    cash: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    by_client_id: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    state: SafetyState = SafetyState.ACTIVE
    limits: Limits = field(default_factory=Limits)
    triggers: list[Trigger] = field(default_factory=list)
    realized_by_day: dict[int, int] = field(default_factory=dict)  # KST ordinal → won
    # Σ fill amounts since the books last agreed with a live broker (reconciliation)
    unreconciled_amount: int = 0
    # Σ (broker − ours) of commissions adopted from a live broker's cash, in realised P&L
    fee_adjustments: int = 0
    last_event_id: int = 0  # ids are global to the log, not per account
    synced: bool = False  # a live account has taken its broker's balance
    broker_account: str | None = None  # … of this broker account (a keyed fingerprint)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --- derived ----------------------------------------------------------------------------
    def working_orders(self) -> Iterator[Order]:
        return (o for o in self.orders.values() if o.working)

    def reserved_cash(self) -> int:
        return sum(o.reserved_cash for o in self.working_orders() if o.side is Side.BUY)

    def available_cash(self) -> int:
        return self.cash - self.reserved_cash()

    def held_for_sale(self, symbol: str) -> int:
        return sum(
            o.remaining for o in self.working_orders() if o.side is Side.SELL and o.symbol == symbol
        )

    def position_qty(self, symbol: str) -> int:
        p = self.positions.get(symbol)
        return p.quantity if p else 0

    def realized_total(self) -> int:
        return sum(p.realized_pnl for p in self.positions.values()) + self.fee_adjustments

    def fill_for(
        self, order: Order, qty: int, price: int, ts: int, trade_id: str, market: str | None = None
    ) -> Fill:
        """The fill of ``qty`` at ``price``: fees, tax (by trade date and ``market``) and
        realised P&L from the current position (computed once, then stored in the event)."""
        amount = qty * price
        commission = self.fees.commission(amount)
        tax = 0
        realized = 0
        if order.side is Side.SELL:
            tax = self.fees.tax(amount, kst_day(ts), market)
            pos = self.positions.get(order.symbol) or Position(order.symbol)
            held = pos.quantity
            cost = pos.cost * qty // held if held else 0
            fee_cost = pos.fee_cost * qty // held if held else 0
            realized = amount - cost - fee_cost - commission - tax
        return Fill(
            trade_id,
            order.order_id,
            self.account_id,
            order.symbol,
            order.side,
            price,
            qty,
            commission,
            tax,
            realized,
            ts,
            order.strategy,
        )

    # --- the fold ---------------------------------------------------------------------------
    def apply(self, event_id: int, kind: str, data: dict[str, Any], ts: int) -> None:
        handler = getattr(self, "_on_" + kind.replace(".", "_"))
        handler(data, ts)
        self.last_event_id = event_id

    def _on_account_opened(self, d: dict[str, Any], ts: int) -> None:
        self.initial_cash = self.cash = int(d["cash"])

    def _on_account_reset(self, d: dict[str, Any], ts: int) -> None:
        self.initial_cash = self.cash = int(d["cash"])
        self.positions.clear()
        self.realized_by_day.clear()
        self.fee_adjustments = self.unreconciled_amount = 0
        self.state = SafetyState.ACTIVE

    def _on_account_synced(self, d: dict[str, Any], ts: int) -> None:
        """A live account adopts its broker's balance (first connection, or another broker
        account connected in its place: its books start over, the orders stay)."""
        self.initial_cash = self.cash = int(d["cash"])
        self.synced = True
        self.broker_account = d.get("brokerAccount")
        self.positions = {
            sym: Position(sym, int(p["quantity"]), int(p["cost"]))
            for sym, p in d["positions"].items()
        }

    def _on_order_new(self, d: dict[str, Any], ts: int) -> None:
        o = Order(
            order_id=d["orderId"],
            account_id=self.account_id,
            symbol=d["symbol"],
            side=Side(d["side"]),
            type=OrderType(d["type"]),
            quantity=int(d["quantity"]),
            price=d.get("price"),
            client_order_id=d.get("clientOrderId"),
            created_at=ts,
            strategy=d.get("strategy"),
            reserve_price=int(d.get("reservePrice") or 0),
            updated_at=ts,
            entered_at=int(d.get("enteredAt") or 0),
        )
        self._reserve(o)
        self.orders[o.order_id] = o
        if o.client_order_id:
            self.by_client_id[o.client_order_id] = o.order_id

    def _on_order_status(self, d: dict[str, Any], ts: int) -> None:
        o = self.orders[d["orderId"]]
        to = OrderStatus(d["status"])
        check_transition(o, to)
        o.status = to
        if d.get("reason"):
            o.reason = d["reason"]
        if d.get("brokerOrderId"):
            o.broker_order_id = d["brokerOrderId"]
        o.updated_at = ts
        self._reserve(o)

    def _on_order_fill(self, d: dict[str, Any], ts: int) -> None:
        o = self.orders[d["orderId"]]
        qty, price = int(d["quantity"]), int(d["price"])
        if qty <= 0 or qty > o.remaining:
            raise IllegalTransition(f"order {o.order_id}: fill of {qty} > remaining {o.remaining}")
        commission, tax, realized = int(d["commission"]), int(d["tax"]), int(d["realizedPnl"])
        amount = qty * price
        pos = self.positions.setdefault(o.symbol, Position(o.symbol))
        if o.side is Side.BUY:
            self.cash -= amount + commission
            pos.quantity += qty
            pos.cost += amount
            pos.fee_cost += commission
            day = kst_day(ts).toordinal()
            if pos.last_buy_day != day:
                pos.day_bought = pos.day_bought_cost = 0
            pos.last_buy_day = day
            pos.day_bought += qty
            pos.day_bought_cost += amount
        else:
            held = pos.quantity
            pos.cost -= pos.cost * qty // held if held else 0
            pos.fee_cost -= pos.fee_cost * qty // held if held else 0
            pos.quantity -= qty
            pos.realized_pnl += realized
            self.cash += amount - commission - tax
            day = kst_day(ts).toordinal()
            self.realized_by_day[day] = self.realized_by_day.get(day, 0) + realized
        self.unreconciled_amount += amount
        o.filled_quantity += qty
        o.filled_amount += amount
        o.fills += 1
        o.updated_at = max(o.updated_at, ts)  # ts is the trade's (tape) time
        if o.remaining == 0:
            o.status = OrderStatus.FILLED
        elif o.status in (OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.UNKNOWN):
            o.status = OrderStatus.PARTIALLY_FILLED
        # a fill racing a cancel keeps CANCELLED: the shares are real, the rest is gone
        self._reserve(o)

    def _on_trading_enabled(self, d: dict[str, Any], ts: int) -> None:
        self.enabled = bool(d["enabled"])

    def _on_safety_state(self, d: dict[str, Any], ts: int) -> None:
        self.state = SafetyState(d["state"])

    def _on_safety_limits(self, d: dict[str, Any], ts: int) -> None:
        self.limits = Limits.from_dict(d["limits"])

    def _on_safety_trigger(self, d: dict[str, Any], ts: int) -> None:
        self.triggers.append(Trigger(d["kind"], d["message"], ts, dict(d.get("details") or {})))
        del self.triggers[:-100]

    def _on_reconcile_result(self, d: dict[str, Any], ts: int) -> None:
        """Reconciliation outcomes are recorded for the audit trail; state changes they cause
        come as their own events."""
        if d.get("ok"):
            self.unreconciled_amount = 0

    def _on_account_fees_adjusted(self, d: dict[str, Any], ts: int) -> None:
        """A live broker charged another commission than ours: its cash is adopted, the
        difference counts in the day's realised P&L."""
        difference = int(d["difference"])
        self.cash += difference
        self.fee_adjustments += difference
        day = kst_day(ts).toordinal()
        self.realized_by_day[day] = self.realized_by_day.get(day, 0) + difference
        self.unreconciled_amount = 0

    def _reserve(self, o: Order) -> None:
        if o.side is Side.BUY and o.working:
            o.reserved_cash = self.fees.buy_hold(o.reserve_price * o.remaining)
        else:
            o.reserved_cash = 0
