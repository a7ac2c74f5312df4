"""The trading service: accounts, the order path and its guards, fills, the safety system.

Every change is an event stored before it is applied (``_record``), so the in-memory state is
always what the log says and a restart rebuilds it exactly. The order path per account runs
under the account's lock: validation, the NEW event, the broker call and its answer are one
sequence that no other order of the same account interleaves with.

An order is sent to its broker at most once. When the broker does not answer in time the order
becomes UNKNOWN and only reconciliation (the broker's own view) moves it on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.bus.base import GAP, TICKS, Bus, Subscription
from aegis.bus.codec import decode_ticks
from aegis.core.errors import InvalidRequest, NotFound, OrderConflict, OrderRejected
from aegis.core.timeutil import now_us
from aegis.domain import krx
from aegis.domain.ticks import Tick
from aegis.trading.alerts import AlertBook
from aegis.trading.book import LIVE as LIVE
from aegis.trading.book import Account, check_transition
from aegis.trading.brokers.base import (
    Broker,
    BrokerBalance,
    BrokerRejected,
    BrokerTimeout,
    broker_key,
)
from aegis.trading.brokers.paper import PaperBroker, PaperExpiry, PaperFill
from aegis.trading.eventlog import Event, EventLog, NewEvent, fill_data
from aegis.trading.feed import EventFeed
from aegis.trading.fees import FEE_TOLERANCE, FeeSchedule
from aegis.trading.models import (
    Fill,
    Limits,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Reason,
    SafetyState,
    Side,
)
from aegis.trading.session import Phase, auction_match_time, day_order_close, phase
from aegis.trading.tradelog import TradeQuery, query_trades, today_query
from aegis.trading.views import PriceBoard, fill_view, order_view, portfolio_view

if TYPE_CHECKING:
    from aegis.trading.connect import LiveConnections

log = logging.getLogger(__name__)

PAPER = "paper"


class Runner(Protocol):
    """A running strategy (``aegis.trading.runner.StrategyRunner``)."""

    runner_id: int
    account: Account

    def view(self) -> dict[str, Any]: ...

    async def stop(self) -> None: ...


@dataclass
class TradingConfig:
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    # live accounts' fees (their broker's commission plan); None: ``fees``
    live_fees: FeeSchedule | None = None
    # a cash-only reconciliation difference up to this share of the amount traded since the
    # books last agreed is the broker's commission: adopted instead of halting
    fee_tolerance: Decimal = FEE_TOLERANCE
    paper_cash: int = 10_000_000
    broker_timeout: float = 5.0
    duplicate_window_us: int = 2_000_000
    default_limits: Limits = field(default_factory=Limits)


class TradingService:
    def __init__(
        self,
        db: AsyncEngine,
        prices: PriceBoard,
        *,
        config: TradingConfig | None = None,
        bus: Bus | None = None,
        known_symbol: Callable[[str], bool] | None = None,
        clock: Callable[[], int] | None = None,
        wall: Callable[[], int] = now_us,
    ) -> None:
        """``clock``: the market clock instead of the tape's; ``wall``: real time (UTC µs),
        which stamps events and live brokers' fills (tests inject both)."""
        self.log = EventLog(db)
        self.db = db
        self.prices = prices
        self.config = config or TradingConfig()
        self.bus = bus
        self.known_symbol = known_symbol or (lambda s: prices.last_price(s) is not None)
        self.paper = PaperBroker()
        # paper fills matched (the exchange's book already decremented) but not stored yet, by
        # order: a cancel or expiry that gets the account's lock first books them before it
        # closes the order, so a fill racing a cancel is never lost
        self._matched: dict[str, list[PaperFill]] = {}
        self.brokers: dict[int, Broker] = {}  # live accounts' brokers
        self.accounts: dict[int, Account] = {}
        self._by_user: dict[tuple[int, str], int] = {}
        self._clock = clock
        self.wall = wall
        self.feed = EventFeed()
        self._tasks: list[asyncio.Task[None]] = []
        self._create_lock = asyncio.Lock()
        self.fills_recorded = 0
        # set after each recorded fill (benchmarks, tests): no polling with sleeps
        self.fill_event = asyncio.Event()
        # after the order path: price alerts and the like watch the same tape
        self.tape_listeners: list[Callable[[Sequence[Tick]], Awaitable[None]]] = []
        self.closers: list[Callable[[], Awaitable[None]]] = []
        # symbols other tape listeners want (alerts); paper orders' symbols always pass
        self.tape_filters: list[Callable[[str], bool]] = []
        self._pending: asyncio.Queue[list[Tick]] = asyncio.Queue()
        self.alerts: AlertBook | None = None
        self.runners: dict[int, Runner] = {}
        # administrators' live KIS accounts (set by ``trading.runtime.start_trading``)
        self.live: LiveConnections | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        for account_id, user_id, kind in await self.log.accounts():
            acc = await self._load(account_id, user_id, kind)
            await self._recover(acc)
        if self.bus is not None:
            sub = await self.bus.subscribe(TICKS, maxsize=100_000)
            self._tasks.append(asyncio.create_task(self._consume(sub), name="trading-tape"))
        self._tasks.append(asyncio.create_task(self._drain(), name="trading-ticks"))
        self._tasks.append(asyncio.create_task(self._safety_loop(), name="trading-safety"))

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        for r in list(self.runners.values()):
            await r.stop()
        self.runners.clear()
        for close in self.closers:
            await close()
        self.closers.clear()
        await self.log.close()

    def now(self) -> int:
        """The market clock: the tape's latest trade time (or the injected clock)."""
        if self._clock is not None:
            return self._clock()
        return self.paper.clock

    async def _load(self, account_id: int, user_id: int, kind: str) -> Account:
        fees = self.config.fees
        if kind == LIVE and self.config.live_fees is not None:
            fees = self.config.live_fees
        acc = Account(account_id, user_id, kind, fees)
        acc.limits = self.config.default_limits
        for e in await self.log.load(account_id):
            acc.apply(e.event_id, e.kind, e.data, e.ts)
        self.accounts[account_id] = acc
        self._by_user[(user_id, kind)] = account_id
        return acc

    async def _recover(self, acc: Account) -> None:
        """After a restart: working orders back at the paper broker; orders whose broker answer
        was never stored are resolved from the broker's own view, never resent."""
        if acc.kind != PAPER and acc.account_id not in self.brokers:
            # a live account whose broker is not connected yet: its connection reconciles
            # every working order first (``LiveAccount.start``)
            return
        for o in list(acc.working_orders()):
            broker = self.broker_for(acc)
            if acc.kind == PAPER and o.status in (
                OrderStatus.ACCEPTED,
                OrderStatus.PARTIALLY_FILLED,
            ):
                # the paper exchange restarted with us: its book is what the log says
                self.paper.add(o, o.entered_at, rested=self._rested(o))
                continue
            async with acc.lock:
                await self._resolve(acc, o, broker)

    def _rested(self, o: Order) -> bool:
        """Whether a paper order from before a restart rests in the book (traded through,
        it fills at its limit) rather than arrives (it fills at the trade price): it has
        fills, or its symbol traded since it came in (after its auction when it waited for
        one) without filling it."""
        if o.filled_quantity:
            return True
        traded = self.prices.last_trade_time(o.symbol)
        since = auction_match_time(o.entered_at) or o.entered_at
        return traded is not None and traded >= since

    async def _resolve(self, acc: Account, o: Order, broker: Broker) -> None:
        try:
            taken = () if o.broker_order_id else self._broker_keys(acc, o)
            view = await asyncio.wait_for(broker.lookup(o, taken), self.config.broker_timeout)
        except (TimeoutError, BrokerTimeout):
            if o.status is OrderStatus.NEW:
                await self._status(acc, o, OrderStatus.UNKNOWN, "broker unreachable at recovery")
            return
        if view is None:
            if o.broker_order_id:
                # the broker acknowledged it with its number, so it is there: its inquiry
                # just did not list it (paging, KIS paper's empty answers). Closing it would
                # release its cash and drop its fills; the next look-up tries again.
                log.warning("order %s: not in the broker's inquiry; left open", o.order_id)
                return
            # the broker never received it: nothing can fill, so it is closed
            await self._status(acc, o, OrderStatus.CANCELLED, "NOT_AT_BROKER")
            return
        if not o.broker_order_id and o.status in (OrderStatus.NEW, OrderStatus.UNKNOWN):
            # found by content: its number first, whatever follows (fills that make it
            # FILLED record no number), or a later lost answer could take the same row
            await self._status(acc, o, OrderStatus.ACCEPTED, "reconciled", view.broker_order_id)
        missing = view.filled_quantity - o.filled_quantity
        if missing > 0:
            price = view.average_price
            if view.filled_amount:
                # the fills we have not booked yet, exactly (to the won, truncated)
                price = (view.filled_amount - o.filled_amount) // missing
            # a day order trades by its session's close: booked later (a notice lost, the
            # process down overnight) its fills still belong to that day (P&L, tax date)
            ts = min(self.wall(), day_order_close(o.created_at))
            await self._fill(acc, o, missing, price, ts, "broker")
        if o.working and view.status is not o.status:
            target = view.status
            if target is OrderStatus.ACCEPTED and o.filled_quantity:
                target = OrderStatus.PARTIALLY_FILLED
            elif target is OrderStatus.REJECTED and o.filled_quantity:
                # its fills are real; what was left will not trade
                target = OrderStatus.CANCELLED
            if target is not o.status and target is not OrderStatus.FILLED:
                await self._status(acc, o, target, "reconciled", view.broker_order_id)

    @staticmethod
    def _broker_keys(acc: Account, but: Order) -> frozenset[str]:
        """The broker keys of the account's other orders: an order whose answer was lost is
        found by content, and must not take a row that is already one of ours."""
        return frozenset(
            broker_key(x.broker_order_id)
            for x in acc.orders.values()
            if x is not but and x.broker_order_id
        )

    def broker_for(self, acc: Account) -> Broker:
        if acc.kind == PAPER:
            return self.paper
        broker = self.brokers.get(acc.account_id)
        if broker is None:
            raise InvalidRequest("no broker is connected for this account")
        return broker

    # --- accounts -------------------------------------------------------------------------------
    async def account_for(self, user_id: int, kind: str = PAPER) -> Account:
        account_id = self._by_user.get((user_id, kind))
        if account_id is not None:
            return self.accounts[account_id]
        async with self._create_lock:
            account_id = self._by_user.get((user_id, kind))
            if account_id is not None:
                return self.accounts[account_id]
            account_id = await self.log.create_account(user_id, kind, self.wall())
            acc = await self._load(account_id, user_id, kind)
            if not acc.last_event_id:
                cash = self.config.paper_cash if kind == PAPER else 0
                await self._record(acc, [NewEvent("account.opened", {"cash": cash}, self.wall())])
                if self.config.default_limits != Limits():
                    await self._record(
                        acc,
                        [
                            NewEvent(
                                "safety.limits",
                                {"limits": self.config.default_limits.as_dict()},
                                self.wall(),
                            )
                        ],
                    )
            return acc

    def account_of_user(self, user_id: int, kind: str = PAPER) -> Account | None:
        account_id = self._by_user.get((user_id, kind))
        return None if account_id is None else self.accounts[account_id]

    async def reset(self, acc: Account, cash: int | None = None) -> None:
        """Paper accounts only: cancel working orders, clear positions, fresh cash."""
        if acc.kind != PAPER:
            raise InvalidRequest("only paper accounts can be reset")
        cash = self.config.paper_cash if cash is None else cash
        if cash < 0:
            raise InvalidRequest("cash must not be negative")
        async with acc.lock:
            await self._cancel_all(acc, "ACCOUNT_RESET")
            await self._record(acc, [NewEvent("account.reset", {"cash": cash}, self.wall())])

    # --- reconciliation -----------------------------------------------------------------------
    async def adopt_balance(
        self, acc: Account, balance: BrokerBalance, broker_account: str | None = None
    ) -> None:
        """A live account's first connection (or another broker account's): its cash and
        positions are the broker's, ``broker_account`` the account they are of."""
        positions = {
            s: {"quantity": p.quantity, "cost": round(p.average_price * p.quantity)}
            for s, p in balance.positions.items()
            if p.quantity
        }
        data: dict[str, Any] = {"cash": balance.cash, "positions": positions}
        if broker_account is not None:
            data["brokerAccount"] = broker_account
        async with acc.lock:
            await self._record(acc, [NewEvent("account.synced", data, self.wall())])

    async def reconcile(
        self, acc: Account, balance: BrokerBalance | Callable[[], Awaitable[BrokerBalance]]
    ) -> dict[str, Any]:
        """Compare our books with the broker's balance. A difference seen twice in a row
        (fills in flight can make one read differ for a moment) halts the account and says
        exactly what differs (a trigger and a ``reconcile.result`` event)."""

        async def fetch() -> BrokerBalance:
            return balance if isinstance(balance, BrokerBalance) else await balance()

        async with acc.lock:
            broker = self.broker_for(acc)
            diffs: list[dict[str, Any]] = []
            for _ in range(2):
                # working orders first: fills we missed become fills here
                for o in list(acc.working_orders()):
                    await self._resolve(acc, o, broker)
                diffs = self._differences(acc, await fetch())
                if not diffs:
                    break
            adjustment, entries = self._fee_adjustment(acc, diffs)
            if entries:
                # the broker charged another commission than ours: its cash is the truth, and
                # the fills it was charged on say so (positions, P&L, the trade log)
                data = {
                    "difference": adjustment,
                    "ours": acc.cash,
                    "broker": acc.cash + adjustment,
                    "fills": entries,
                }
                await self._record(acc, [NewEvent("account.fees_adjusted", data, self.wall())])
                diffs = []
            result: dict[str, Any] = {"ok": not diffs, "differences": diffs}
            if adjustment:
                result["feeAdjustment"] = adjustment
            await self._record(acc, [NewEvent("reconcile.result", result, self.wall())])
            self.feed.publish(acc.user_id, {"type": "reconcile", **result})
            if diffs and acc.state is not SafetyState.HALTED:
                text = "; ".join(
                    f"{d['field']}{' ' + d['symbol'] if 'symbol' in d else ''}: "
                    f"ours {d['ours']}, broker {d['broker']}"
                    for d in diffs
                )
                await self._set_state(acc, SafetyState.HALTED, f"reconciliation mismatch: {text}")
            return result

    def _fee_adjustment(
        self, acc: Account, diffs: list[dict[str, Any]]
    ) -> tuple[int, list[dict[str, Any]] | None]:
        """(broker − ours, its share of each fill) when the only difference is cash and it
        can be the commission of what traded since the books last agreed; else (0, None): a
        real mismatch."""
        if len(diffs) != 1 or diffs[0]["field"] != "cash":
            return 0, None
        difference = int(diffs[0]["broker"]) - int(diffs[0]["ours"])
        bound = (acc.unreconciled_amount * self.config.fee_tolerance).to_integral_value(
            ROUND_CEILING
        )
        if abs(difference) > bound:
            return 0, None
        entries = acc.fee_entries(difference)
        return (difference, entries) if entries else (0, None)

    @staticmethod
    def _differences(acc: Account, balance: BrokerBalance) -> list[dict[str, Any]]:
        diffs: list[dict[str, Any]] = []
        if balance.cash != acc.cash:
            diffs.append({"field": "cash", "ours": acc.cash, "broker": balance.cash})
        symbols = {s for s, p in acc.positions.items() if p.quantity} | {
            s for s, p in balance.positions.items() if p.quantity
        }
        for s in sorted(symbols):
            ours = acc.position_qty(s)
            theirs = balance.positions[s].quantity if s in balance.positions else 0
            if ours != theirs:
                diffs.append({"field": "position", "symbol": s, "ours": ours, "broker": theirs})
        return diffs

    # --- the order path -----------------------------------------------------------------------
    async def place(self, acc: Account, req: OrderRequest) -> tuple[Order, bool]:
        """Validate, store, send. Returns (order, created); a retry with the same clientOrderId
        returns the first order with created False. Refusals raise OrderRejected and change
        nothing."""
        self._check_shape(req)
        async with acc.lock:
            if req.client_order_id is not None:
                existing_id = acc.by_client_id.get(req.client_order_id)
                if existing_id is not None:
                    existing = acc.orders[existing_id]
                    if existing.request().same_as(req):
                        return existing, False
                    raise OrderRejected(
                        Reason.DUPLICATE,
                        "clientOrderId was already used for a different order",
                        orderId=existing.order_id,
                    )
            self.broker_for(acc)  # no broker connected: refused before anything is stored
            reserve = self._validate(acc, req)
            order_id = uuid.uuid4().hex
            ts = self.wall()
            data: dict[str, Any] = {
                "orderId": order_id,
                "symbol": req.symbol,
                "side": req.side.value,
                "type": req.type.value,
                "quantity": req.quantity,
                "price": req.price,
                "clientOrderId": req.client_order_id,
                "strategy": req.strategy,
                "reservePrice": reserve,
                "enteredAt": self.now(),
            }
            await self._record(acc, [NewEvent("order.new", data, ts, order_id)])
            order = acc.orders[order_id]
            await self._send(acc, order)
            return order, True

    def _check_shape(self, req: OrderRequest) -> None:
        if not self.known_symbol(req.symbol):
            raise InvalidRequest(f"unknown symbol {req.symbol!r}", details={"field": "symbol"})
        if not isinstance(req.quantity, int) or isinstance(req.quantity, bool):
            raise InvalidRequest("quantity must be a whole number of shares")
        if req.quantity <= 0:
            raise InvalidRequest("quantity must be positive")
        if req.type is OrderType.LIMIT:
            if req.price is None:
                raise InvalidRequest("a LIMIT order needs a price", details={"field": "price"})
            if req.price <= 0:
                raise InvalidRequest("price must be positive", details={"field": "price"})
        elif req.price is not None:
            raise InvalidRequest("a MARKET order takes no price", details={"field": "price"})

    def _validate(self, acc: Account, req: OrderRequest) -> int:
        """The guards, in order; returns the price the order holds cash at."""
        if not acc.enabled:
            raise OrderRejected(Reason.TRADING_OFF, "trading is switched off for this account")
        if acc.state is SafetyState.HALTED:
            raise OrderRejected(Reason.HALTED, "trading is halted for this account")
        held = acc.position_qty(req.symbol)
        if acc.state is SafetyState.REDUCING and not (
            req.side is Side.SELL and req.quantity <= held
        ):
            raise OrderRejected(
                Reason.HALTED, "the account is REDUCING: only orders that shrink a position"
            )
        if phase(self.now()) is Phase.CLOSED:
            raise OrderRejected(Reason.MARKET_CLOSED, "the market is closed")
        base = self.prices.prev_close(req.symbol)
        last = self.prices.last_price(req.symbol)
        if req.type is OrderType.LIMIT:
            assert req.price is not None
            if not krx.on_grid(req.price):
                raise OrderRejected(
                    Reason.TICK_SIZE,
                    f"{req.price} is not on the tick grid (tick {krx.tick_size(req.price)})",
                    tick=krx.tick_size(req.price),
                    below=krx.round_down(req.price),
                    above=krx.round_up(req.price),
                )
            if base is not None:
                lo, hi = krx.lower_limit(base), krx.upper_limit(base)
                if not lo <= req.price <= hi:
                    raise OrderRejected(
                        Reason.PRICE_LIMIT,
                        f"{req.price} is outside today's limits {lo}–{hi}",
                        lower=lo,
                        upper=hi,
                    )
            ref = req.price
            reserve = req.price
        else:
            ref = last or base or 0
            if not ref and req.side is Side.BUY:
                # nothing to hold cash against: any quantity would pass the cash check
                raise InvalidRequest(
                    f"no price for {req.symbol} yet (no previous close, no trade): "
                    "place a LIMIT order",
                    details={"field": "type"},
                )
            # a market buy holds cash at the upper limit, as brokers do (it may fill up there)
            reserve = krx.upper_limit(base) if base else krx.round_up(ref * 13 // 10)
        value = ref * req.quantity
        lim = acc.limits
        if lim.max_order_value and value > lim.max_order_value:
            raise OrderRejected(
                Reason.MAX_ORDER_VALUE,
                f"order value {value} exceeds the limit {lim.max_order_value}",
                limit=lim.max_order_value,
                value=value,
            )
        if req.side is Side.BUY and (lim.max_position_value or lim.max_total_position_value):
            pending = sum(
                o.remaining * (o.reserve_price or 0)
                for o in acc.working_orders()
                if o.side is Side.BUY and o.symbol == req.symbol
            )
            mark = last or ref
            after = (held * mark) + pending + value
            if lim.max_position_value and after > lim.max_position_value:
                raise OrderRejected(
                    Reason.MAX_POSITION,
                    f"position value {after} would exceed {lim.max_position_value}",
                    limit=lim.max_position_value,
                    value=after,
                )
            total = sum(
                p.quantity * (self.prices.last_price(s) or p.average_price)
                for s, p in acc.positions.items()
            ) + sum(
                o.remaining * o.reserve_price for o in acc.working_orders() if o.side is Side.BUY
            )
            if lim.max_total_position_value and total + value > lim.max_total_position_value:
                raise OrderRejected(
                    Reason.MAX_POSITION,
                    f"total position value {int(total + value)} would exceed "
                    f"{lim.max_total_position_value}",
                    limit=lim.max_total_position_value,
                    value=int(total + value),
                )
        wall = self.wall()
        if lim.max_orders_per_minute:
            recent = sum(1 for o in acc.orders.values() if o.created_at > wall - 60_000_000)
            if recent >= lim.max_orders_per_minute:
                raise OrderRejected(
                    Reason.ORDER_RATE,
                    f"more than {lim.max_orders_per_minute} orders in a minute",
                    limit=lim.max_orders_per_minute,
                )
        if req.client_order_id is None:
            for o in acc.working_orders():
                if (
                    o.created_at > wall - self.config.duplicate_window_us
                    and o.client_order_id is None
                    and o.request().same_as(req)
                ):
                    raise OrderRejected(
                        Reason.DUPLICATE,
                        "the same order was placed moments ago (send a clientOrderId to "
                        "place identical orders on purpose)",
                        orderId=o.order_id,
                    )
        if req.side is Side.BUY:
            need = acc.fees.buy_hold(reserve * req.quantity)
            available = acc.available_cash()
            if need > available:
                raise OrderRejected(
                    Reason.INSUFFICIENT_CASH,
                    f"needs {need} won, {available} available",
                    required=need,
                    available=available,
                )
        else:
            free = held - acc.held_for_sale(req.symbol)
            if req.quantity > free:
                raise OrderRejected(
                    Reason.INSUFFICIENT_POSITION,
                    f"sells {req.quantity}, {free} shares available",
                    available=free,
                )
        return reserve

    async def _send(self, acc: Account, order: Order) -> None:
        broker = self.broker_for(acc)
        try:
            broker_id = await asyncio.wait_for(broker.submit(order), self.config.broker_timeout)
        except (TimeoutError, BrokerTimeout):
            await self._status(acc, order, OrderStatus.UNKNOWN, "BROKER_TIMEOUT")
            return
        except BrokerRejected as exc:
            await self._status(acc, order, OrderStatus.REJECTED, f"{exc.code}: {exc.message}")
            return
        except Exception as exc:  # a disconnect mid-request: the broker may have the order
            log.warning("order %s: broker failed: %s", order.order_id, type(exc).__name__)
            await self._status(acc, order, OrderStatus.UNKNOWN, f"BROKER_ERROR: {exc}")
            return
        await self._status(acc, order, OrderStatus.ACCEPTED, None, broker_id)

    async def cancel(self, acc: Account, order_id: str) -> Order:
        async with acc.lock:
            o = self.order(acc, order_id)
            if not o.working:
                raise OrderConflict(
                    f"order is {o.status.value}: nothing to cancel",
                    details={"status": o.status.value},
                )
            await self._cancel_one(acc, o, "USER")
            return o

    async def _cancel_one(self, acc: Account, o: Order, reason: str) -> None:
        if o.status is OrderStatus.NEW:
            await self._status(acc, o, OrderStatus.CANCELLED, reason)
            return
        broker = self.broker_for(acc)
        try:
            await asyncio.wait_for(broker.cancel(o), self.config.broker_timeout)
        except (TimeoutError, BrokerTimeout) as exc:
            raise OrderConflict(
                "the broker did not confirm the cancel; the order stays open until reconciled"
            ) from exc
        except BrokerRejected as exc:
            # the paper exchange may have matched the whole order before the cancel came
            await self._book_matched(acc, o)
            if not o.working:
                raise OrderConflict(
                    f"order is {o.status.value}: nothing to cancel",
                    details={"status": o.status.value},
                ) from exc
            raise OrderConflict(f"the broker refused the cancel: {exc.message}") from exc
        # what the paper exchange matched before the cancel is real: booked, then the rest goes
        if not await self._book_matched(acc, o):
            raise OrderConflict(
                "a fill of the order could not be stored; the order stays open",
                details={"status": o.status.value},
            )
        if o.working:
            await self._status(acc, o, OrderStatus.CANCELLED, reason)

    async def _cancel_all(self, acc: Account, reason: str) -> list[str]:
        failed = []
        for o in list(acc.working_orders()):
            try:
                await self._cancel_one(acc, o, reason)
            except OrderConflict as exc:
                failed.append(f"{o.order_id}: {exc.message}")
        return failed

    def order(self, acc: Account, order_id: str) -> Order:
        o = acc.orders.get(order_id)
        if o is None:
            # other users' ids look exactly like missing ones
            raise NotFound(f"no order {order_id}")
        return o

    def orders(
        self, acc: Account, status: str | None = None, symbol: str | None = None
    ) -> list[Order]:
        out = list(acc.orders.values())
        if status == "OPEN":
            out = [o for o in out if o.working]
        elif status:
            try:
                st = OrderStatus(status)
            except ValueError as exc:
                raise InvalidRequest(f"unknown status {status!r}") from exc
            out = [o for o in out if o.status is st]
        if symbol:
            out = [o for o in out if o.symbol == symbol]
        out.sort(key=lambda o: o.created_at, reverse=True)
        return out

    # --- fills ----------------------------------------------------------------------------------
    def on_ticks(self, ticks: Sequence[Tick]) -> list[PaperFill | PaperExpiry]:
        """Match paper orders (synchronously); the caller records what comes out."""
        fills, expired = self.paper.on_ticks(ticks)
        expired += self.paper.expire_due()
        for f in fills:
            self._matched.setdefault(f.order_id, []).append(f)
        return [*fills, *expired]

    def _take_matched(self, fill: PaperFill) -> bool:
        """Claim ``fill`` for storing; False when a cancel or expiry stored it already."""
        pending = self._matched.get(fill.order_id)
        if not pending or fill not in pending:
            return False
        pending.remove(fill)
        if not pending:
            del self._matched[fill.order_id]
        return True

    async def _book_matched(self, acc: Account, o: Order) -> bool:
        """Store the paper fills of ``o`` matched but not stored yet (account lock held), in
        the order they were matched; called once ``o`` left the paper book (cancelled or
        expired there). Taken one at a time: storing a fill can halt the account and cancel
        ``o`` again from inside this loop. False when a fill could not be stored: ``o`` is
        then back in the paper book with all it has not stored, and must stay open."""
        while pending := self._matched.get(o.order_id):
            fill = pending[0]
            self._take_matched(fill)
            if o.working and not await self._store_paper_fill(acc, o, fill):
                # ``restore`` put the order back whole (its remaining counts no unstored
                # fill), so the other unstored fills are in it already
                self._matched.pop(o.order_id, None)
                return False
        return True

    async def _store_paper_fill(self, acc: Account, o: Order, fill: PaperFill) -> bool:
        stored = o.fills
        try:
            await self._fill(acc, o, fill.quantity, fill.price, fill.ts, None)
        except Exception:
            log.exception("paper fill of %s not recorded", fill.order_id)
            if o.fills == stored:  # not stored: the paper exchange takes it back
                self.paper.restore(o, fill.quantity)
                return False
        return True

    async def apply_tape(self, ticks: Sequence[Tick]) -> None:
        for item in self.on_ticks(ticks):
            acc = self.accounts.get(item.account_id)
            if acc is None:
                self._matched.pop(item.order_id, None)
                continue
            async with acc.lock:
                o = acc.orders.get(item.order_id)
                if isinstance(item, PaperFill):
                    if not self._take_matched(item) or o is None or not o.working:
                        continue
                    await self._store_paper_fill(acc, o, item)
                # fills matched before the expiry (another batch still waiting) come first;
                # one not stored puts the order back, to expire at the next check
                elif o is not None and o.working and await self._book_matched(acc, o) and o.working:
                    await self._status(acc, o, OrderStatus.EXPIRED, "SESSION_END")

    async def sync_order(self, acc: Account, broker_order_id: str) -> Order | None:
        """A live broker said something happened to one of our orders (a fill notice): take
        its cumulative fills from the broker's own view. Fills are always booked as "the
        broker's total minus ours", so a notice and a reconciliation that overlap can never
        count the same shares twice."""
        key = broker_key(broker_order_id)
        async with acc.lock:
            o = next(
                (
                    x
                    for x in acc.orders.values()
                    if x.broker_order_id and broker_key(x.broker_order_id) == key
                ),
                None,
            )
            if o is None:
                log.warning("notice for an order that is not ours: %s", key)
                return None
            await self._resolve(acc, o, self.broker_for(acc))
            return o

    async def _fill(
        self, acc: Account, o: Order, qty: int, price: int, ts: int, note: str | None
    ) -> Fill:
        market = self.prices.market_of(o.symbol)
        fill = acc.fill_for(o, qty, price, ts, f"{o.order_id}-{o.fills + 1}", market)
        data = fill_data(fill)
        if note:
            data["note"] = note
        await self._record(acc, [NewEvent("order.fill", data, ts, o.order_id)], fill)
        self.fills_recorded += 1
        self.fill_event.set()
        self.feed.publish(acc.user_id, {"type": "fill", **fill_view(fill)})
        await self._check_daily_loss(acc)
        return fill

    async def _status(
        self,
        acc: Account,
        o: Order,
        status: OrderStatus,
        reason: str | None,
        broker_id: str | None = None,
    ) -> None:
        # before storing: an event the fold refuses would make the log unreplayable
        check_transition(o, status)
        data: dict[str, Any] = {"orderId": o.order_id, "status": status.value, "reason": reason}
        if broker_id:
            data["brokerOrderId"] = broker_id
        await self._record(acc, [NewEvent("order.status", data, self.wall(), o.order_id)])

    async def _record(
        self, acc: Account, new: Sequence[NewEvent], fill: Fill | None = None
    ) -> list[Event]:
        stored = await self.log.append(acc.account_id, new, fill)
        for e in stored:
            acc.apply(e.event_id, e.kind, e.data, e.ts)
            if e.order_id is not None:
                self.feed.publish(
                    acc.user_id, {"type": "order", **order_view(acc.orders[e.order_id])}
                )
        return stored

    # --- safety -------------------------------------------------------------------------------
    async def set_enabled(self, acc: Account, enabled: bool, by: str = "user") -> None:
        async with acc.lock:
            await self._record(
                acc, [NewEvent("trading.enabled", {"enabled": enabled, "by": by}, self.wall())]
            )
            await self._trigger(acc, "TRADING_ON" if enabled else "TRADING_OFF", f"by {by}")

    async def set_state(self, acc: Account, state: SafetyState, reason: str) -> None:
        async with acc.lock:
            await self._set_state(acc, state, reason)

    async def _set_state(self, acc: Account, state: SafetyState, reason: str) -> None:
        await self._record(
            acc, [NewEvent("safety.state", {"state": state.value, "reason": reason}, self.wall())]
        )
        await self._trigger(acc, f"STATE_{state.value}", reason)

    async def set_limits(self, acc: Account, limits: Limits) -> None:
        for k, v in limits.as_dict().items():
            if v < 0:
                raise InvalidRequest(f"{k} must not be negative")
        async with acc.lock:
            await self._record(
                acc, [NewEvent("safety.limits", {"limits": limits.as_dict()}, self.wall())]
            )

    async def kill(self, acc: Account, by: str = "user") -> list[str]:
        """Kill switch: cancel every open order, trading off. Returns cancels that failed."""
        async with acc.lock:
            failed = await self._cancel_all(acc, "KILL_SWITCH")
            await self._record(
                acc, [NewEvent("trading.enabled", {"enabled": False, "by": by}, self.wall())]
            )
            await self._trigger(
                acc, "KILL_SWITCH", f"by {by}: open orders cancelled, trading off", failed=failed
            )
            return failed

    async def _trigger(self, acc: Account, kind: str, message: str, **details: Any) -> None:
        data = {"kind": kind, "message": message, "details": details}
        await self._record(acc, [NewEvent("safety.trigger", data, self.wall())])
        self.feed.publish(acc.user_id, {"type": "safety", **data, "state": acc.state.value})

    def day_pnl(self, acc: Account) -> int:
        return int(self.portfolio(acc)["dayPnl"])

    async def _check_daily_loss(self, acc: Account) -> None:
        """Called with the account lock held."""
        lim = acc.limits.max_daily_loss
        if not lim or acc.state is SafetyState.HALTED:
            return
        pnl = self.day_pnl(acc)
        if pnl < -lim:
            await self._set_state(
                acc, SafetyState.HALTED, f"daily loss {-pnl} won exceeds the limit {lim}"
            )
            await self._cancel_all(acc, "HALTED")

    async def _safety_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.apply_tape([])  # day orders whose session ended by the clock
            except Exception:
                log.exception("expiry check failed")
            for acc in list(self.accounts.values()):
                if acc.limits.max_daily_loss and acc.state is not SafetyState.HALTED:
                    try:
                        async with acc.lock:
                            await self._check_daily_loss(acc)
                    except Exception:
                        log.exception("daily loss check failed")

    # --- tape -----------------------------------------------------------------------------------
    def feed_ticks(self, ticks: Sequence[Tick]) -> None:
        """The stream hub's decoded batches (synchronous, on the hub's path): keep only the
        trades someone here needs; the rest costs one set look-up each. Never raises: a
        failure here must not stop the hub."""
        try:
            paper = self.paper
            book = paper.book
            filters = self.tape_filters
            wanted: list[Tick] = []
            latest = paper.clock
            for t in ticks:
                if t.ts > latest:
                    latest = t.ts
                if book.get(t.symbol) or any(f(t.symbol) for f in filters):
                    wanted.append(t)
            paper.clock = latest
            if wanted:
                self._pending.put_nowait(wanted)
        except Exception:
            log.exception("trading could not take a tick batch")

    async def _drain(self) -> None:
        while True:
            ticks = await self._pending.get()
            await self.process_ticks(ticks)

    async def process_ticks(self, ticks: Sequence[Tick]) -> None:
        """Paper matching, then the other tape listeners (alerts, strategy runners)."""
        try:
            await self.apply_tape(ticks)
        except Exception:
            log.exception("tape batch failed")
        for listener in self.tape_listeners:
            try:
                await listener(ticks)
            except Exception:
                log.exception("tape listener failed")

    async def _consume(self, sub: Subscription) -> None:
        try:
            async for payload in sub:
                if payload == GAP:  # ticks stored without the bus: nothing for the paper tape
                    continue
                try:
                    _, ticks = decode_ticks(payload)
                except Exception:
                    log.exception("undecodable tick batch; skipped")
                    continue
                await self.process_ticks(ticks)
        finally:
            await sub.close()

    # --- views ----------------------------------------------------------------------------------
    def today(self, acc: Account) -> int:
        """An instant of the account's trading day: the market clock's for paper accounts (the
        tape may be a simulated day), real time for live ones (their broker's fills are)."""
        if acc.kind == LIVE:
            return self.wall()
        return self.now() or self.wall()

    def portfolio(self, acc: Account) -> dict[str, Any]:
        return portfolio_view(acc, self.prices, self.today(acc))

    async def trades(self, acc: Account, q: TradeQuery) -> tuple[list[dict[str, Any]], int]:
        """The trade log (a page of it, and how many fills match)."""
        return await query_trades(self.db, acc.account_id, q, acc.fill_adjustments)

    async def today_trades(self, acc: Account) -> list[dict[str, Any]]:
        rows, _ = await self.trades(acc, today_query(self.today(acc)))
        return rows

    def status(self, acc: Account) -> dict[str, Any]:
        return {
            "accountId": acc.account_id,
            "kind": acc.kind,
            "enabled": acc.enabled,
            "state": acc.state.value,
            "limits": acc.limits.as_dict(),
            "triggers": [
                {"kind": t.kind, "message": t.message, "time": t.ts, "details": t.details}
                for t in reversed(acc.triggers[-50:])
            ],
            "openOrders": sum(1 for _ in acc.working_orders()),
        }

    def summary(self) -> dict[str, int]:
        accs = list(self.accounts.values())
        return {
            "accounts": len(accs),
            "active": sum(1 for a in accs if a.state is SafetyState.ACTIVE),
            "reducing": sum(1 for a in accs if a.state is SafetyState.REDUCING),
            "halted": sum(1 for a in accs if a.state is SafetyState.HALTED),
            "tradingOff": sum(1 for a in accs if not a.enabled),
            "openOrders": sum(1 for a in accs for _ in a.working_orders()),
        }

    def all_accounts(self) -> Iterable[Account]:
        return list(self.accounts.values())
