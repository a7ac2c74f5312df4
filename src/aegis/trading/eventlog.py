"""The append-only event log: every change to an account is one row in ``trading_events``
(a fill also lands in ``trading_fills`` in the same transaction). Rows are never updated.
An append returns only after its transaction is committed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.trading import tables
from aegis.trading.models import Fill
from aegis.trading.sqlitewriter import Row, SqliteWriter, WriteTimes


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


@dataclass(slots=True)
class _Pending:
    account_id: int
    new: Sequence[NewEvent]
    fill: Fill | None
    done: asyncio.Future[list[Event]]
    queued: float


_EVENT_COLS = ("account_id", "order_id", "kind", "data", "ts")
_FILL_COLS = tuple(c.name for c in tables.fills.columns)


def _positional_insert(table: sa.Table, cols: Sequence[str]) -> str:
    """The SQLite INSERT of ``cols`` as SQLAlchemy Core compiles it (qmark parameters)."""
    compiled = table.insert().compile(dialect=sqlite.dialect(), column_keys=list(cols))
    assert list(compiled.positiontup or ()) == list(cols)
    return str(compiled)


_EVENTS_SQL = _positional_insert(tables.events, _EVENT_COLS)
_FILLS_SQL = _positional_insert(tables.fills, _FILL_COLS)


def _settle(
    p: _Pending, out: list[Event] | None = None, *, exc: BaseException | None = None
) -> None:
    if p.done.done():  # the caller was cancelled: what is committed stays committed
        return
    if exc is not None:
        p.done.set_exception(exc)
    else:
        p.done.set_result(out or [])


class EventLog:
    """Appends go through **group commit**: every append waiting when the writer runs goes
    into one transaction (each caller still awaits its own events being durable, and one
    failing append is retried alone so it cannot fail the others). Ids keep the order in
    which ``append`` was called.

    On a SQLite file the transaction is written by the event log's own writer thread and
    connection (``aegis.trading.sqlitewriter``): one hand-off to it and one back per
    transaction, and no WAL checkpoint inside the commit. PostgreSQL uses Core statements."""

    def __init__(
        self,
        db: AsyncEngine,
        *,
        group_commit: bool = True,
        sqlite_driver: bool = True,
        sqlite_thread: bool = True,
    ) -> None:
        """``sqlite_thread=False``: the transaction goes through the connection the engine
        hands out (aiosqlite: a round trip to its thread per statement, and SQLite's
        automatic checkpoint inside the commit); ``group_commit=False, sqlite_driver=False``:
        one Core transaction per append. ``aegis bench trading`` runs these as baselines."""
        self.db = db
        self.group_commit = group_commit
        self._sqlite = sqlite_driver and db.dialect.name == "sqlite"
        path = db.url.database if self._sqlite else None
        self._thread_path = (
            path
            if sqlite_thread and path and path != ":memory:" and "mode=memory" not in path
            else None
        )
        self._sqlite_writer: SqliteWriter | None = None
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0  # committed write transactions (group commit shares them)
        self.appends = 0
        # set by benchmarks: called with each writer-thread transaction's step times
        self.on_write: Callable[[WriteTimes], None] | None = None
        # how long each WAL checkpoint of the writer's took (seconds), every writer so far
        self.checkpoint_seconds: list[float] = []

    async def append(
        self, account_id: int, new: Sequence[NewEvent], fill: Fill | None = None
    ) -> list[Event]:
        """Store ``new`` (and ``fill``) atomically; returns them with their ids once they
        are committed."""
        if not self.group_commit:
            (out,) = await self._write([(account_id, new, fill)])
            return out
        done: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(account_id, new, fill, done, time.perf_counter()))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="trading-eventlog")
        return await done

    async def close(self) -> None:
        """Wait for appends in flight (nothing queued is dropped)."""
        if self._writer is not None:
            await self._writer
        if self._sqlite_writer is not None:
            writer, self._sqlite_writer = self._sqlite_writer, None
            await asyncio.to_thread(writer.close)
            self.checkpoint_seconds += writer.stats.checkpoint_seconds

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                stored = await self._write(
                    [(p.account_id, p.new, p.fill) for p in batch], batch[0].queued
                )
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0], exc=exc)
                    continue
                # one bad append must not fail the others: each alone, in order
                for p in batch:
                    try:
                        (out,) = await self._write([(p.account_id, p.new, p.fill)])
                    except Exception as exc:
                        _settle(p, exc=exc)
                    else:
                        _settle(p, out)
                continue
            for p, out in zip(batch, stored, strict=True):
                _settle(p, out)

    async def _write(
        self, batch: Sequence[tuple[int, Sequence[NewEvent], Fill | None]], queued: float = 0.0
    ) -> list[list[Event]]:
        """One transaction for the whole batch."""
        self.appends += len(batch)
        if self._thread_path is not None:
            out = await self._write_thread(batch, queued or time.perf_counter())
        elif self._sqlite:
            out = await self._write_sqlite(batch)
        else:
            out = await self._write_core(batch)
        self.transactions += 1
        return out

    async def _write_core(
        self, batch: Sequence[tuple[int, Sequence[NewEvent], Fill | None]]
    ) -> list[list[Event]]:
        result: list[list[Event]] = []
        async with self.db.begin() as conn:
            fills = []
            for account_id, new, fill in batch:
                out: list[Event] = []
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
                    fills.append(fill_row(fill))
                result.append(out)
            if fills:
                await conn.execute(tables.fills.insert(), fills)
        return result

    async def _write_thread(
        self, batch: Sequence[tuple[int, Sequence[NewEvent], Fill | None]], queued: float
    ) -> list[list[Event]]:
        assert self._thread_path is not None
        if self._sqlite_writer is None:
            self._sqlite_writer = SqliteWriter(self._thread_path, _EVENTS_SQL, _FILLS_SQL)
        rows = []
        for account_id, new, fill in batch:
            params = [(e.order_id, e.kind, orjson.dumps(e.data).decode(), e.ts) for e in new]
            if fill is not None:
                r = fill_row(fill)
                rows.append(Row(account_id, params, tuple(r[c] for c in _FILL_COLS)))
            else:
                rows.append(Row(account_id, params, None))
        submitted = time.perf_counter()
        ids, began, committed = await asyncio.wrap_future(self._sqlite_writer.submit(rows))
        if self.on_write is not None:
            self.on_write(
                WriteTimes(len(batch), queued, submitted, began, committed, time.perf_counter())
            )
        return [
            [
                Event(i, account_id, e.order_id, e.kind, e.data, e.ts)
                for i, e in zip(out, new, strict=True)
            ]
            for out, (account_id, new, _) in zip(ids, batch, strict=True)
        ]

    async def _write_sqlite(
        self, batch: Sequence[tuple[int, Sequence[NewEvent], Fill | None]]
    ) -> list[list[Event]]:
        result: list[list[Event]] = []
        async with self.db.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection  # aiosqlite: its own implicit BEGIN before DML
            assert driver is not None
            try:
                fills = []
                for account_id, new, fill in batch:
                    out: list[Event] = []
                    for e in new:
                        row = await driver.execute_insert(
                            _EVENTS_SQL,
                            (account_id, e.order_id, e.kind, orjson.dumps(e.data).decode(), e.ts),
                        )
                        assert row is not None
                        out.append(Event(int(row[0]), account_id, e.order_id, e.kind, e.data, e.ts))
                    if fill is not None:
                        r = fill_row(fill)
                        fills.append(tuple(r[c] for c in _FILL_COLS))
                    result.append(out)
                if fills:
                    await driver.executemany(_FILLS_SQL, fills)
                await driver.commit()
            except BaseException:
                await driver.rollback()
                raise
        return result

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
