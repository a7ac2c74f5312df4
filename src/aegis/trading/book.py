"""An account's state as a pure fold of its event log: cash, positions, orders, safety switches.
Nothing here does I/O; the service stores an event first and then applies it, so memory never
holds what the log does not, and a restart rebuilds exactly the same state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
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

LIVE = "kis"  # a live broker's account (``service.LIVE``)

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


@dataclass(frozen=True, slots=True)
class Booked:
    """A fill whose cash a live broker has not confirmed yet."""

    trade_id: str
    symbol: str
    side: Side
    quantity: int
    amount: int
    commission: int
    ts: int


@dataclass(frozen=True, slots=True)
class FillAdjustment:
    """What a fill's commission and realised P&L became once the broker's cash was known."""

    commission: int = 0
    realized_pnl: int = 0


def split(total: int, weights: list[int]) -> list[int]:
    """``total`` (≥ 0) in whole won over ``weights`` in proportion, adding up exactly: the
    won left over by truncation go to the largest remainders (the earlier on a tie)."""
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    left = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


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
    # fills since the books last agreed with a live broker (reconciliation), oldest first
    unreconciled: list[Booked] = field(default_factory=list)
    # commission a live broker charged beyond ours, by trade id (the trade log shows it)
    fill_adjustments: dict[str, FillAdjustment] = field(default_factory=dict)
    # Σ (broker − ours) adopted by logs from before adjustments went to the fills
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

    @property
    def unreconciled_amount(self) -> int:
        """Σ fill amounts since the books last agreed with a live broker."""
        return sum(b.amount for b in self.unreconciled)

    def fee_entries(self, difference: int) -> list[dict[str, Any]] | None:
        """How a live broker's cash being ``difference`` (broker − ours) off is the
        commission of the fills since the books last agreed: each fill's share, in
        proportion to its amount (to its commission when the broker charged less: it cannot
        have charged less than nothing). A held buy's share goes into its position's fee
        cost (realised when the shares are sold), a sale's into its realised P&L, and the
        part of a buy's that sales since took (average cost) into the latest one's. None
        when it cannot be commission."""
        extra = -difference  # commission charged beyond ours
        fills = self.unreconciled
        weights = [b.commission if extra < 0 else b.amount for b in fills]
        if not extra or not sum(weights) or -extra > sum(weights):
            return None
        sign = 1 if extra > 0 else -1
        entries: list[dict[str, Any]] = []
        for i, (b, share) in enumerate(zip(fills, split(abs(extra), weights), strict=True)):
            if not share:
                continue
            c = sign * share
            entry: dict[str, Any] = {"tradeId": b.trade_id, "symbol": b.symbol, "ts": b.ts}
            entry["commission"] = c
            entries.append(entry)
            if b.side is Side.SELL:
                entry["realizedPnl"] = -c
                continue
            # the shares of this buy still held carry their part; sales since took the rest
            held, sale = self._still_held(b, fills[i + 1 :])
            kept = c * held.numerator // held.denominator
            if kept:
                entry["feeCost"] = kept
            if c - kept:
                assert sale is not None
                entries.append(
                    {"tradeId": sale.trade_id, "symbol": b.symbol, "ts": sale.ts,
                     "realizedPnl": kept - c}
                )  # fmt: skip
        return entries

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

    def _still_held(self, buy: Booked, later: list[Booked]) -> tuple[Fraction, Booked | None]:
        """The share of ``buy``'s commission still in its position's buy commissions (each
        sale since took its part of them: average cost), and the latest of those sales."""
        share, after, sale = Fraction(1), self.position_qty(buy.symbol), None
        for x in reversed(later):  # back from what is held now
            if x.symbol != buy.symbol:
                continue
            if x.side is Side.SELL:
                sale = sale or x
                share *= Fraction(after, after + x.quantity)
                after += x.quantity
            else:
                after -= x.quantity
        return share, sale

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
        self.fee_adjustments = 0
        self.unreconciled.clear()
        self.state = SafetyState.ACTIVE

    def _on_account_synced(self, d: dict[str, Any], ts: int) -> None:
        """A live account adopts its broker's balance (first connection, or another broker
        account connected in its place: its books start over, the orders stay)."""
        self.initial_cash = self.cash = int(d["cash"])
        self.synced = True
        self.broker_account = d.get("brokerAccount")
        # P&L starts over with the positions: the other account's sales are not these books'
        self.realized_by_day.clear()
        self.fee_adjustments = 0
        self.unreconciled.clear()
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
        if self.kind == LIVE:  # only a live broker's cash is compared with ours
            self.unreconciled.append(
                Booked(str(d["tradeId"]), o.symbol, o.side, qty, amount, commission, ts)
            )
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
            self.unreconciled.clear()

    def _on_account_fees_adjusted(self, d: dict[str, Any], ts: int) -> None:
        """A live broker charged another commission than ours: its cash is adopted, and the
        difference is the commission of the fills it was charged on (``fee_entries``)."""
        self.unreconciled.clear()
        if "fills" not in d:
            # logged before the fills took it: counted in the day's realised P&L as it was
            difference = int(d["difference"])
            self.cash += difference
            self.fee_adjustments += difference
            day = kst_day(ts).toordinal()
            self.realized_by_day[day] = self.realized_by_day.get(day, 0) + difference
            return
        for e in d["fills"]:
            commission, realized = int(e.get("commission", 0)), int(e.get("realizedPnl", 0))
            self.cash -= commission
            pos = self.positions.setdefault(e["symbol"], Position(e["symbol"]))
            pos.fee_cost += int(e.get("feeCost", 0))
            pos.realized_pnl += realized
            if realized:
                day = kst_day(int(e["ts"])).toordinal()  # the sale's day, not today
                self.realized_by_day[day] = self.realized_by_day.get(day, 0) + realized
            was = self.fill_adjustments.get(e["tradeId"], FillAdjustment())
            self.fill_adjustments[e["tradeId"]] = FillAdjustment(
                was.commission + commission, was.realized_pnl + realized
            )

    def _reserve(self, o: Order) -> None:
        if o.side is Side.BUY and o.working:
            o.reserved_cash = self.fees.buy_hold(o.reserve_price * o.remaining)
        else:
            o.reserved_cash = 0
