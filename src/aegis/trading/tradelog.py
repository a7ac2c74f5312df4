"""The trade log: fills of an account filtered and paginated in SQL, with the commission a
live broker was found to charge on them (adopted after they were stored)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import InvalidRequest
from aegis.core.timeutil import iso_z, kst_day, kst_midnight_us
from aegis.trading.book import FillAdjustment

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class TradeQuery:
    page: int = 1
    page_size: int = 50
    symbol: str | None = None
    side: str | None = None
    start: int | None = None  # UTC µs, inclusive
    end: int | None = None  # exclusive

    def check(self) -> None:
        if self.page < 1:
            raise InvalidRequest("page starts at 1")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"pageSize must be 1–{MAX_PAGE_SIZE}")
        if self.side not in (None, "BUY", "SELL"):
            raise InvalidRequest("side must be BUY or SELL")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise InvalidRequest("start must be before end")


def today_query(now_us: int, page_size: int = MAX_PAGE_SIZE) -> TradeQuery:
    start = kst_midnight_us(kst_day(now_us))
    return TradeQuery(1, page_size, start=start, end=start + 86_400_000_000)


def _row(r: Any, adjusted: FillAdjustment | None) -> dict[str, Any]:
    commission, realized = r.commission, r.realized_pnl
    if adjusted is not None:  # the live broker's own commission, adopted later
        commission += adjusted.commission
        realized += adjusted.realized_pnl
    return {
        "tradeId": r.trade_id,
        "orderId": r.order_id,
        "symbol": r.symbol,
        "side": r.side,
        "price": r.price,
        "quantity": r.quantity,
        "amount": r.price * r.quantity,
        "commission": commission,
        "tax": r.tax,
        "realizedPnl": realized,
        "time": iso_z(r.ts),
        "strategy": r.strategy,
    }


async def query_trades(
    db: AsyncEngine,
    account_id: int,
    q: TradeQuery,
    adjustments: Mapping[str, FillAdjustment] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """``adjustments``: the account's (``Account.fill_adjustments``), by trade id; the rows
    hold each fill as it was booked."""
    from aegis.trading.tables import fills

    q.check()
    cond = [fills.c.account_id == account_id]
    if q.symbol:
        cond.append(fills.c.symbol == q.symbol)
    if q.side:
        cond.append(fills.c.side == q.side)
    if q.start is not None:
        cond.append(fills.c.ts >= q.start)
    if q.end is not None:
        cond.append(fills.c.ts < q.end)
    where = sa.and_(*cond)
    async with db.connect() as conn:
        total = int(
            (
                await conn.execute(sa.select(sa.func.count()).select_from(fills).where(where))
            ).scalar_one()
        )
        rows = (
            await conn.execute(
                sa.select(fills)
                .where(where)
                .order_by(fills.c.ts.desc(), fills.c.trade_id.desc())
                .limit(q.page_size)
                .offset((q.page - 1) * q.page_size)
            )
        ).all()
    adjustments = adjustments or {}
    return [_row(r, adjustments.get(r.trade_id)) for r in rows], total
