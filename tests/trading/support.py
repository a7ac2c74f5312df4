"""A trading service over a scripted tape: prices are set by the ticks the test feeds."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Collection
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.timeutil import KST, to_us
from aegis.credentials.store import BrokerCredentials, CredentialStore
from aegis.domain.ticks import Tick
from aegis.trading import tables
from aegis.trading.book import Account
from aegis.trading.brokers.base import (
    Broker,
    BrokerOrderView,
    BrokerRejected,
    BrokerTimeout,
)
from aegis.trading.brokers.kis import KisAccount
from aegis.trading.live import LiveAccount
from aegis.trading.models import (
    Limits,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    SafetyState,
    Side,
)
from aegis.trading.service import TradingConfig, TradingService
from aegis.trading.tradelog import MAX_PAGE_SIZE, TradeQuery
from aegis.trading.views import PriceBoard, order_view, position_view
from tests.fakes.kis_trading import APP_KEY, APP_SECRET, HTS_ID, FakeKisTrading

DAY = date(2026, 3, 2)  # a Monday
SAMSUNG = "005930"
HYNIX = "000660"
_seq = itertools.count(1)


def kst(h: int, m: int, s: int = 0, day: date = DAY) -> int:
    return to_us(datetime(day.year, day.month, day.day, h, m, s, tzinfo=KST))


def status(order: Order) -> OrderStatus:
    """``order.status`` now. Read through a call: mypy would keep what an earlier ``assert
    order.status is ...`` narrowed it to past the awaits that move the order on."""
    return order.status


def safety(account: Account) -> SafetyState:
    """``account.state`` now, read through a call for the same reason as ``status``."""
    return account.state


def tick(symbol: str, price: int, volume: int, ts: int) -> Tick:
    return Tick(symbol, ts, price, volume, 0, next(_seq), "test")


class Board(PriceBoard):
    def __init__(self) -> None:
        self.last: dict[str, int] = {SAMSUNG: 71_500, HYNIX: 180_000}
        self.prev: dict[str, int] = {SAMSUNG: 71_000, HYNIX: 180_000}
        self.markets: dict[str, str] = {SAMSUNG: "KOSPI", HYNIX: "KOSPI"}
        self.traded: dict[str, int] = {}

    def name(self, symbol: str) -> str:
        return {SAMSUNG: "삼성전자", HYNIX: "SK하이닉스"}.get(symbol, symbol)

    def last_price(self, symbol: str) -> int | None:
        return self.last.get(symbol)

    def prev_close(self, symbol: str) -> int | None:
        return self.prev.get(symbol)

    def market_of(self, symbol: str) -> str | None:
        return self.markets.get(symbol)

    def last_trade_time(self, symbol: str) -> int | None:
        return self.traded.get(symbol)


class Desk:
    """The service plus its tape, for tests."""

    def __init__(
        self,
        db: AsyncEngine,
        config: TradingConfig | None = None,
        wall: Callable[[], int] | None = None,
    ) -> None:
        """``wall``: the service's real-time clock (default the system's)."""
        self.db = db
        self.board = Board()
        self.config = config or TradingConfig()
        self.wall = wall
        self.service = self._new_service()
        self.live: dict[int, Broker] = {}  # live accounts' brokers, kept across restarts

    async def start(self, users: int = 9) -> TradingService:
        """Users 1..``users`` exist (accounts belong to users), then the service starts."""
        await make_users(self.db, users)
        await self.service.start()
        return self.service

    async def live_account(self, user: int, broker: Broker) -> Account:
        acc = await self.service.account_for(user, "kis")
        self.live[acc.account_id] = broker
        self.service.brokers[acc.account_id] = broker
        return acc

    async def restart(self) -> TradingService:
        """A new process over the same database: state from the event log only."""
        await self.service.close()
        clock = self.service.paper.clock
        self.service = self._new_service()
        self.service.paper.clock = clock
        self.service.brokers = dict(self.live)
        await self.service.start()
        return self.service

    def _new_service(self) -> TradingService:
        if self.wall is None:
            return TradingService(self.db, self.board, config=self.config)
        return TradingService(self.db, self.board, config=self.config, wall=self.wall)

    async def trade(self, symbol: str, price: int, volume: int, ts: int) -> None:
        self.board.last[symbol] = price
        self.board.traded[symbol] = max(ts, self.board.traded.get(symbol, ts))
        await self.service.apply_tape([tick(symbol, price, volume, ts)])

    def open_market(self, ts: int | None = None) -> None:
        self.service.paper.clock = ts or kst(10, 0)


def limit(
    side: Side, qty: int, price: int, symbol: str = SAMSUNG, cid: str | None = None
) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.LIMIT, qty, price, cid)


def market(side: Side, qty: int, symbol: str = SAMSUNG, cid: str | None = None) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.MARKET, qty, None, cid)


NO_LIMITS = Limits()


async def count(db: AsyncEngine, table: sa.Table) -> int:
    async with db.connect() as conn:
        q = sa.select(sa.func.count()).select_from(table)
        return int((await conn.execute(q)).scalar_one())


async def event_count(db: AsyncEngine) -> int:
    return await count(db, tables.events)


class ScriptedBroker(Broker):
    """A live broker under test: each submit does what ``next_submit`` says; it remembers
    every order it really received (``received``), which is what ``lookup`` reports."""

    name = "scripted"

    def __init__(self) -> None:
        self.next_submit = "ok"  # ok | reject | timeout | disconnect | timeout-after-receipt
        self.received: dict[str, BrokerOrderView] = {}
        self.submits = 0
        self.cancels = 0

    async def submit(self, order: Order) -> str:
        self.submits += 1
        mode = self.next_submit
        if mode == "reject":
            raise BrokerRejected("40250000", "모의투자 주문가능금액이 부족합니다.")
        if mode == "timeout":
            raise BrokerTimeout("no answer")
        if mode == "disconnect":
            raise ConnectionResetError("peer closed")
        broker_id = f"{self.submits:010d}"
        self.received[order.order_id] = BrokerOrderView(broker_id, OrderStatus.ACCEPTED, 0, 0)
        if mode == "timeout-after-receipt":
            raise BrokerTimeout("the answer was lost")
        return broker_id

    async def cancel(self, order: Order) -> None:
        self.cancels += 1
        v = self.received[order.order_id]
        self.received[order.order_id] = BrokerOrderView(
            v.broker_order_id, OrderStatus.CANCELLED, v.filled_quantity, v.average_price
        )

    async def lookup(self, order: Order, taken: Collection[str] = ()) -> BrokerOrderView | None:
        return self.received.get(order.order_id)

    def fill(self, order_id: str, qty: int, price: int) -> None:
        v = self.received[order_id]
        self.received[order_id] = BrokerOrderView(
            v.broker_order_id, v.status, v.filled_quantity + qty, price
        )


async def make_users(db: AsyncEngine, n: int) -> None:
    from datetime import UTC

    from aegis.accounts.tables import users

    async with db.begin() as conn:
        have = set((await conn.execute(sa.select(users.c.id))).scalars())
        for i in range(1, n + 1):
            if i not in have:
                await conn.execute(
                    users.insert().values(
                        id=i,
                        email=f"t{i}@example.com",
                        username=f"trader{i}",
                        password_hash="x",
                        is_admin=False,
                        created_at=datetime.now(UTC),
                    )
                )


async def until(cond: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Polls ``cond`` with a generous deadline (no fixed sleeps in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def figures(svc: TradingService, acc: Account) -> dict[str, Any]:
    """Every figure the trading API shows of ``acc``, built as its GET routes build them: the
    portfolio, each position (closed ones too), the orders, the trade log, today's trades and
    the trading status."""
    trades, _ = await svc.trades(acc, TradeQuery(1, MAX_PAGE_SIZE))
    return {
        "portfolio": svc.portfolio(acc),
        "positions": {s: position_view(acc, s, svc.prices) for s in sorted(acc.positions)},
        "orders": [order_view(o) for o in svc.orders(acc)],
        "trades": trades,
        "today": await svc.today_trades(acc),
        "status": svc.status(acc),
    }


def live_account(
    desk: Desk, fake: FakeKisTrading, tmp_path: Path, acc: Account, *, paper: bool = True
) -> LiveAccount:
    """A live KIS account of ``acc`` on the fake KIS server (not started)."""
    creds = BrokerCredentials(SecretStr(APP_KEY), SecretStr(APP_SECRET), paper=paper)
    return LiveAccount(
        desk.service,
        acc,
        creds,
        CredentialStore(tmp_path, "test-secret"),
        KisAccount.parse("50123456-01"),
        HTS_ID,
        rest_url=fake.rest_url,
        ws_url=fake.ws_url,
        reconcile_seconds=3600,
    )
