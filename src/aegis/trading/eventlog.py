"""The append-only event log: every change to an account is one row in ``trading_events``
(a fill also lands in ``trading_fills`` in the same transaction). Rows are never updated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.trading import tables
from aegis.trading.models import Fill


@dataclass(frozen=True, slots=True)
class Event:
    event_id: int
    account_id: int
    order_id: str | None
    kind: str
    data: dict[str, Any]
    ts: int


@dataclass(frozen=True, slots=True)
class NewEvent:
    kind: str
    data: dict[str, Any]
    ts: int
    order_id: str | None = None


def fill_row(f: Fill) -> dict[str, Any]:
    return {
        "trade_id": f.trade_id,
        "account_id": f.account_id,
        "order_id": f.order_id,
        "symbol": f.symbol,
        "side": f.side.value,
        "price": f.price,
        "quantity": f.quantity,
        "commission": f.commission,
        "tax": f.tax,
        "realized_pnl": f.realized_pnl,
        "ts": f.ts,
        "strategy": f.strategy,
    }


def fill_data(f: Fill) -> dict[str, Any]:
    return {
        "orderId": f.order_id,
        "tradeId": f.trade_id,
        "quantity": f.quantity,
        "price": f.price,
        "commission": f.commission,
        "tax": f.tax,
        "realizedPnl": f.realized_pnl,
    }


class EventLog:
    def __init__(self, db: AsyncEngine) -> None:
        self.db = db

    async def append(
        self, account_id: int, new: Sequence[NewEvent], fill: Fill | None = None
    ) -> list[Event]:
        """Store ``new`` (and ``fill``) atomically; returns them with their ids."""
        out: list[Event] = []
        async with self.db.begin() as conn:
            for e in new:
                res = await conn.execute(
                    tables.events.insert().values(
                        account_id=account_id,
                        order_id=e.order_id,
                        kind=e.kind,
                        data=orjson.dumps(e.data).decode(),
                        ts=e.ts,
                    )
                )
                pk = res.inserted_primary_key
                assert pk is not None
                out.append(Event(int(pk[0]), account_id, e.order_id, e.kind, e.data, e.ts))
            if fill is not None:
                await conn.execute(tables.fills.insert().values(**fill_row(fill)))
        return out

    async def load(self, account_id: int) -> list[Event]:
        q = (
            sa.select(tables.events)
            .where(tables.events.c.account_id == account_id)
            .order_by(tables.events.c.id)
        )
        async with self.db.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [
            Event(r.id, r.account_id, r.order_id, r.kind, orjson.loads(r.data), r.ts) for r in rows
        ]

    async def accounts(self) -> list[tuple[int, int, str]]:
        """(account id, user id, kind) of every account."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(sa.select(tables.accounts).order_by("id"))).all()
        return [(r.id, r.user_id, r.kind) for r in rows]

    async def create_account(self, user_id: int, kind: str, ts: int) -> int:
        async with self.db.begin() as conn:
            existing = (
                await conn.execute(
                    sa.select(tables.accounts.c.id).where(
                        tables.accounts.c.user_id == user_id, tables.accounts.c.kind == kind
                    )
                )
            ).scalar()
            if existing is not None:
                return int(existing)
            res = await conn.execute(
                tables.accounts.insert().values(user_id=user_id, kind=kind, created_at=ts)
            )
            pk = res.inserted_primary_key
            assert pk is not None
            return int(pk[0])
