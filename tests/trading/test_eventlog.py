"""Group commit in the event log: appends waiting together share one transaction, keep their
order, and one failing append does not fail the others."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.trading import tables
from aegis.trading.eventlog import EventLog, NewEvent
from aegis.trading.models import Fill, Side
from aegis.trading.sqlitewriter import CHECKPOINT_EVERY_COMMITS
from tests.trading.support import make_users


def _fill(trade_id: str, account_id: int) -> Fill:
    return Fill(trade_id, "o1", account_id, "005930", Side.BUY, 70_000, 1, 10, 0, 0, 1)


@pytest.mark.parametrize("group", [True, False])
async def test_concurrent_appends_share_a_transaction_in_call_order(
    app_db: AsyncEngine, group: bool
) -> None:
    await make_users(app_db, 1)
    log = EventLog(app_db, group_commit=group, sqlite_driver=group)
    acc = await log.create_account(1, "paper", 1)
    results = await asyncio.gather(
        *(
            log.append(acc, [NewEvent("x", {"i": i}, i), NewEvent("y", {"i": i}, i)])
            for i in range(20)
        ),
        log.append(acc, [NewEvent("order.fill", {"t": "f1"}, 99, "o1")], _fill("f1", acc)),
    )
    ids = [e.event_id for r in results for e in r]
    assert len(set(ids)) == 41
    assert [(e.kind, e.data) for e in results[3]] == [("x", {"i": 3}), ("y", {"i": 3})]
    if group:
        assert ids == sorted(ids)  # the order append was called in
        assert log.transactions < 21  # they waited together: fewer commits than appends
    else:
        assert log.transactions == 21  # one each (concurrent ones in any order)
    stored = await log.load(acc)
    assert sorted(e.event_id for e in stored) == sorted(ids)
    async with app_db.connect() as conn:
        assert (await conn.execute(sa.select(tables.fills.c.trade_id))).scalars().all() == ["f1"]


async def test_a_failing_append_fails_alone(app_db: AsyncEngine) -> None:
    await make_users(app_db, 1)
    log = EventLog(app_db)
    acc = await log.create_account(1, "paper", 1)
    await log.append(acc, [NewEvent("order.fill", {}, 1, "o1")], _fill("dup", acc))
    good, bad, after = await asyncio.gather(
        log.append(acc, [NewEvent("a", {}, 2)]),
        log.append(acc, [NewEvent("order.fill", {}, 3, "o1")], _fill("dup", acc)),
        log.append(acc, [NewEvent("b", {}, 4)]),
        return_exceptions=True,
    )
    assert isinstance(bad, Exception)  # the trade id exists: nothing of it is stored
    assert not isinstance(good, BaseException) and not isinstance(after, BaseException)
    kinds = [e.kind for e in await log.load(acc)]
    assert kinds == ["order.fill", "a", "b"]
    await log.close()


async def test_sqlite_writer_thread_stores_what_the_driver_path_stores(app_db: AsyncEngine) -> None:
    """The writer thread (its own connection, checkpoints beside it) and the path through the
    engine's connection store the same rows; the WAL is checkpointed without the engine."""
    if app_db.dialect.name != "sqlite":
        pytest.skip("the writer thread is the SQLite path")
    await make_users(app_db, 2)
    stored: dict[bool, list[tuple[object, ...]]] = {}
    for thread in (False, True):
        log = EventLog(app_db, sqlite_thread=thread)
        acc = await log.create_account(1 + thread, "paper", 1)
        n = CHECKPOINT_EVERY_COMMITS + 5
        for i in range(n):
            fill = _fill(f"t{thread}-{i}", acc) if i % 2 else None
            out = await log.append(acc, [NewEvent("order.fill", {"i": i}, i, "o1")], fill)
            assert [e.data for e in out] == [{"i": i}]
        writer = log._sqlite_writer
        assert (writer is not None) == thread
        assert [(e.kind, e.data, e.ts) for e in await log.load(acc)] == [
            ("order.fill", {"i": i}, i) for i in range(n)
        ]
        async with app_db.connect() as conn:
            rows = await conn.execute(
                sa.select(tables.fills).where(tables.fills.c.account_id == acc)
            )
            stored[thread] = [
                (r.trade_id.split("-", 1)[1], r.symbol, r.price, r.quantity, r.ts) for r in rows
            ]
        await log.close()  # waits for the checkpoint thread too
        if writer is not None:
            assert writer.stats.checkpoints >= 1
            # closed, then used again (a service restarted in the same process)
            (again,) = await log.append(acc, [NewEvent("x", {}, 1)])
            assert again.event_id > out[0].event_id
            await log.close()
    assert stored[True] == stored[False] and len(stored[True]) == n // 2
