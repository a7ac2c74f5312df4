"""A trading service over a scripted tape: prices are set by the ticks the test feeds."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.timeutil import KST, to_us
from aegis.domain.ticks import Tick
from aegis.trading.models import Limits, OrderRequest, OrderType, Side
from aegis.trading.service import TradingConfig, TradingService
from aegis.trading.views import PriceBoard

DAY = date(2026, 3, 2)  # a Monday
SAMSUNG = "005930"
HYNIX = "000660"
_seq = itertools.count(1)


def kst(h: int, m: int, s: int = 0, day: date = DAY) -> int:
    return to_us(datetime(day.year, day.month, day.day, h, m, s, tzinfo=KST))


def tick(symbol: str, price: int, volume: int, ts: int) -> Tick:
    return Tick(symbol, ts, price, volume, 0, next(_seq), "test")


class Board(PriceBoard):
    def __init__(self) -> None:
        self.last: dict[str, int] = {SAMSUNG: 71_500, HYNIX: 180_000}
        self.prev: dict[str, int] = {SAMSUNG: 71_000, HYNIX: 180_000}

    def name(self, symbol: str) -> str:
        return {SAMSUNG: "삼성전자", HYNIX: "SK하이닉스"}.get(symbol, symbol)

    def last_price(self, symbol: str) -> int | None:
        return self.last.get(symbol)

    def prev_close(self, symbol: str) -> int | None:
        return self.prev.get(symbol)


class Desk:
    """The service plus its tape, for tests."""

    def __init__(self, db: AsyncEngine, config: TradingConfig | None = None) -> None:
        self.db = db
        self.board = Board()
        self.config = config or TradingConfig()
        self.service = TradingService(db, self.board, config=self.config)

    async def restart(self) -> TradingService:
        """A new process over the same database: state from the event log only."""
        await self.service.close()
        clock = self.service.paper.clock
        self.service = TradingService(self.db, self.board, config=self.config)
        self.service.paper.clock = clock
        await self.service.start()
        return self.service

    async def trade(self, symbol: str, price: int, volume: int, ts: int) -> None:
        self.board.last[symbol] = price
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
