"""The paper broker: a simulated exchange that fills against the live (or simulated) tape.

- Market orders fill at the next trades' prices; limit orders when the tape trades at or through
  the limit (a resting order fills at its limit, an order marketable on arrival at the trade
  price); every fill is bounded by the traded volume, shared first come first served.
- Only trades in the continuous session fill continuous orders. Orders entered during an auction
  (08:30–09:00, 15:20–15:30) fill at the auction print (the first trade at or after 09:00 or
  15:30) when it reaches them; opening-auction leftovers then trade on. Day orders still
  resting at the close take part in the closing auction the same way; its leftovers expire.
- Day orders expire after the close (a trade of a later time or day shows the session is over).

Matching is synchronous and decrements what is left at once, so a trade is never used twice;
the service persists each fill and gives the quantity back (``restore``) if that fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from aegis.domain.ticks import Tick
from aegis.trading.brokers.base import Broker, BrokerOrderView, BrokerRejected
from aegis.trading.models import Order, OrderStatus, OrderType, Side
from aegis.trading.session import Phase, auction_match_time, phase, session_close

EXPIRY_GRACE_US = 60_000_000  # a late closing-auction print still fills within this


@dataclass(slots=True)
class Resting:
    order_id: str
    account_id: int
    symbol: str
    side: Side
    type: OrderType
    limit: int | None
    remaining: int
    entered: int  # tape time the order arrived
    auction_at: int | None
    expires_after: int
    rested: bool = False
    filled: int = 0


@dataclass(frozen=True, slots=True)
class PaperFill:
    order_id: str
    account_id: int
    quantity: int
    price: int
    ts: int


@dataclass(frozen=True, slots=True)
class PaperExpiry:
    order_id: str
    account_id: int


class PaperBroker(Broker):
    name = "paper"

    def __init__(self) -> None:
        self.book: dict[str, list[Resting]] = {}
        self.by_id: dict[str, Resting] = {}
        self.clock = 0  # latest tape time seen
        self._ids = itertools.count(1)

    # --- Broker -------------------------------------------------------------------------------
    async def submit(self, order: Order) -> str:
        self.add(order, order.entered_at or self.clock)
        return f"P{next(self._ids):09d}"

    async def cancel(self, order: Order) -> None:
        r = self.by_id.pop(order.order_id, None)
        if r is None:
            raise BrokerRejected("NOT_OPEN", "the order is not open at the paper broker")
        self.book[r.symbol].remove(r)

    async def lookup(self, order: Order, taken: Collection[str] = ()) -> BrokerOrderView | None:
        r = self.by_id.get(order.order_id)
        if r is None:
            return None
        return BrokerOrderView(order.broker_order_id or "", OrderStatus.ACCEPTED, r.filled, 0)

    # --- the book -----------------------------------------------------------------------------
    def add(self, order: Order, entered: int, *, rested: bool = False) -> None:
        """``rested``: the order is in the book already (it was before a restart), not
        arriving: traded through, it fills at its limit, and its auction is over."""
        auction_at = None if rested else auction_match_time(entered)
        r = Resting(
            order.order_id,
            order.account_id,
            order.symbol,
            order.side,
            order.type,
            order.price,
            order.remaining,
            entered,
            auction_at,
            session_close(entered) + EXPIRY_GRACE_US,
            rested,
        )
        self.book.setdefault(order.symbol, []).append(r)
        self.by_id[order.order_id] = r

    def restore(self, order: Order, qty: int) -> None:
        """A matched ``qty`` of ``order`` that could not be stored goes back in the book."""
        r = self.by_id.get(order.order_id)
        if r is None:
            # the match used the order up and dropped it: back in with what is left of it
            if order.working:
                self.add(order, order.entered_at)
            return
        r.remaining += qty
        r.filled -= qty

    def has_orders(self, symbol: str) -> bool:
        return bool(self.book.get(symbol))

    def on_ticks(self, ticks: Iterable[Tick]) -> tuple[list[PaperFill], list[PaperExpiry]]:
        fills: list[PaperFill] = []
        expired: list[PaperExpiry] = []
        book = self.book
        for t in ticks:
            if t.ts > self.clock:
                self.clock = t.ts
            orders = book.get(t.symbol)
            if orders:
                self._match(t, orders, fills, expired)
        return fills, expired

    def expire_due(self) -> list[PaperExpiry]:
        """Orders whose session ended by the tape clock, even for symbols that stopped trading."""
        out: list[PaperExpiry] = []
        for orders in self.book.values():
            for r in list(orders):
                if self.clock > r.expires_after:
                    self._drop(r, orders)
                    out.append(PaperExpiry(r.order_id, r.account_id))
        return out

    def _drop(self, r: Resting, orders: list[Resting]) -> None:
        orders.remove(r)
        self.by_id.pop(r.order_id, None)

    def _match(
        self, t: Tick, orders: list[Resting], fills: list[PaperFill], expired: list[PaperExpiry]
    ) -> None:
        available = t.volume
        p = phase(t.ts)
        for r in list(orders):
            if t.ts > r.expires_after:
                self._drop(r, orders)
                expired.append(PaperExpiry(r.order_id, r.account_id))
                continue
            if t.ts < r.entered:
                continue  # a late print from before the order
            if r.auction_at is None and p is not Phase.CONTINUOUS:
                close = session_close(r.entered)
                if t.ts >= close:
                    # the closing auction matches every day order still resting: this print
                    r.auction_at = close
            if r.auction_at is not None:
                if t.ts < r.auction_at:
                    continue
                # the first trade at/after the match time is the auction print
                price = t.price if self._crosses(r, t.price) else None
                qty = min(r.remaining, available) if price is not None else 0
                closing = r.auction_at >= session_close(r.entered)
                r.auction_at = None
                r.rested = True
                if qty:
                    available -= qty
                    self._fill(r, qty, t.price, t.ts, fills)
                if closing and r.remaining:
                    self._drop(r, orders)
                    expired.append(PaperExpiry(r.order_id, r.account_id))
                elif not r.remaining:
                    self._drop(r, orders)
                continue
            if p is not Phase.CONTINUOUS:
                continue
            if not self._crosses(r, t.price):
                r.rested = True
                continue
            if available <= 0:
                continue
            if r.type is OrderType.MARKET or not r.rested:
                price = t.price
            else:
                assert r.limit is not None
                price = r.limit  # resting at its limit, traded through: filled at the limit
            qty = min(r.remaining, available)
            available -= qty
            self._fill(r, qty, price, t.ts, fills)
            r.rested = True  # what is left now rests in the book at its limit
            if not r.remaining:
                self._drop(r, orders)

    @staticmethod
    def _crosses(r: Resting, price: int) -> bool:
        if r.type is OrderType.MARKET or r.limit is None:
            return True
        return price <= r.limit if r.side is Side.BUY else price >= r.limit

    @staticmethod
    def _fill(r: Resting, qty: int, price: int, ts: int, fills: list[PaperFill]) -> None:
        r.remaining -= qty
        r.filled += qty
        fills.append(PaperFill(r.order_id, r.account_id, qty, price, ts))
