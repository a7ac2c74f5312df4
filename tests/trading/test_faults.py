"""Broker faults: refusals, timeouts, disconnects, a restart between sending and the fill.
An order is never sent twice; every fill the broker reports is recorded exactly once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import InvalidRequest
from aegis.trading import tables
from aegis.trading.brokers.base import BrokerBalance, BrokerOrderView, BrokerPosition
from aegis.trading.models import Limits, OrderStatus, SafetyState, Side
from tests.trading.support import (
    SAMSUNG,
    Desk,
    ScriptedBroker,
    count,
    event_count,
    kst,
    limit,
    market,
    safety,
    status,
)


async def _live(app_db: AsyncEngine) -> tuple[Desk, ScriptedBroker]:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    broker = ScriptedBroker()
    acc = await desk.live_account(1, broker)
    await desk.service.adopt_balance(acc, BrokerBalance(10_000_000, {}))
    return desk, broker


async def test_broker_refusal_stores_rejected_and_releases_cash(app_db: AsyncEngine) -> None:
    desk, broker = await _live(app_db)
    acc = await desk.service.account_for(1, "kis")
    broker.next_submit = "reject"
    o, _ = await desk.service.place(acc, limit(Side.BUY, 1, 71_500))
    assert o.status is OrderStatus.REJECTED and o.reason is not None
    assert "40250000" in o.reason and acc.reserved_cash() == 0


async def test_timeout_leaves_unknown_and_never_resends(app_db: AsyncEngine) -> None:
    desk, broker = await _live(app_db)
    acc = await desk.service.account_for(1, "kis")
    broker.next_submit = "timeout"
    o, _ = await desk.service.place(acc, limit(Side.BUY, 1, 71_500, cid="t1"))
    assert o.status is OrderStatus.UNKNOWN
    assert acc.reserved_cash() > 0  # the cash stays held: the order may be live
    broker.next_submit = "ok"
    again, created = await desk.service.place(acc, limit(Side.BUY, 1, 71_500, cid="t1"))
    assert again is o and not created and broker.submits == 1
    # reconciliation: the broker never got it → closed, cash released
    svc = await desk.restart()
    acc = await svc.account_for(1, "kis")
    assert acc.orders[o.order_id].status is OrderStatus.CANCELLED
    assert acc.reserved_cash() == 0 and broker.submits == 1


async def test_lost_answer_is_recovered_from_the_broker_with_its_fills(
    app_db: AsyncEngine,
) -> None:
    desk, broker = await _live(app_db)
    acc = await desk.service.account_for(1, "kis")
    broker.next_submit = "timeout-after-receipt"
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
    assert o.status is OrderStatus.UNKNOWN
    broker.fill(o.order_id, 4, 71_500)
    svc = await desk.restart()
    acc = await svc.account_for(1, "kis")
    o2 = acc.orders[o.order_id]
    assert o2.status is OrderStatus.PARTIALLY_FILLED and o2.filled_quantity == 4
    assert acc.positions[SAMSUNG].quantity == 4 and broker.submits == 1


async def test_disconnect_during_an_order_is_unknown(app_db: AsyncEngine) -> None:
    desk, broker = await _live(app_db)
    acc = await desk.service.account_for(1, "kis")
    broker.next_submit = "disconnect"
    o, _ = await desk.service.place(acc, limit(Side.BUY, 1, 71_500))
    assert o.status is OrderStatus.UNKNOWN


async def test_restart_between_send_and_fill_notice_loses_nothing(app_db: AsyncEngine) -> None:
    desk, broker = await _live(app_db)
    acc = await desk.service.account_for(1, "kis")
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
    assert o.status is OrderStatus.ACCEPTED
    assert o.broker_order_id is not None
    # notice for 3 arrives and is recorded; then the process dies; 7 more fill while down
    broker.fill(o.order_id, 3, 71_500)
    await desk.service.sync_order(acc, o.broker_order_id)
    assert o.filled_quantity == 3
    broker.fill(o.order_id, 7, 71_500)
    for _ in range(2):  # twice: a second restart must not add anything
        svc = await desk.restart()
        acc = await svc.account_for(1, "kis")
        o2 = acc.orders[o.order_id]
        assert o2.status is OrderStatus.FILLED and o2.filled_quantity == 10
        assert acc.positions[SAMSUNG].quantity == 10
        assert await count(app_db, tables.fills) == 2
    # a late duplicate notice for the filled order changes nothing
    await svc.sync_order(acc, o.broker_order_id)
    assert acc.orders[o.order_id].filled_quantity == 10
    assert await count(app_db, tables.fills) == 2


async def test_kill_switch_cancels_everything_and_switches_off(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1)
    a, _ = await desk.service.place(acc, limit(Side.BUY, 1, 70_000))
    b, _ = await desk.service.place(acc, limit(Side.BUY, 2, 69_000))
    failed = await desk.service.kill(acc)
    assert failed == [] and not acc.enabled
    assert a.status is OrderStatus.CANCELLED and b.status is OrderStatus.CANCELLED
    assert any(t.kind == "KILL_SWITCH" for t in acc.triggers)
    svc = await desk.restart()
    acc = await svc.account_for(1)
    assert not acc.enabled and acc.triggers[-1].kind == "KILL_SWITCH"


async def test_daily_loss_halts_the_account(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1)
    await desk.service.set_limits(acc, Limits(max_daily_loss=10_000))
    await desk.service.place(acc, market(Side.BUY, 100))
    await desk.trade(SAMSUNG, 71_500, 1_000, kst(10, 0, 1))
    sell, _ = await desk.service.place(acc, market(Side.SELL, 100))
    await desk.trade(SAMSUNG, 71_300, 1_000, kst(10, 0, 2))  # -20,000 and fees
    assert sell.status is OrderStatus.FILLED
    assert acc.state is SafetyState.HALTED
    assert any(t.kind == "STATE_HALTED" for t in acc.triggers)


async def test_reconciliation_mismatch_halts_with_the_exact_difference(
    app_db: AsyncEngine,
) -> None:
    desk, _ = await _live(app_db)
    acc = await desk.service.account_for(1, "kis")
    ok = await desk.service.reconcile(acc, BrokerBalance(10_000_000, {}))
    assert ok["ok"] and acc.state is SafetyState.ACTIVE
    result = await desk.service.reconcile(
        acc, BrokerBalance(9_990_000, {SAMSUNG: BrokerPosition(SAMSUNG, 3, 71_500.0)})
    )
    assert result["differences"] == [
        {"field": "cash", "ours": 10_000_000, "broker": 9_990_000},
        {"field": "position", "symbol": SAMSUNG, "ours": 0, "broker": 3},
    ]
    assert safety(acc) is SafetyState.HALTED
    assert "cash: ours 10000000, broker 9990000" in acc.triggers[-1].message


async def test_an_accepted_order_the_broker_later_rejects_is_rejected_and_survives_a_restart(
    app_db: AsyncEngine,
) -> None:
    """KIS can take an order (ODNO given) and the exchange refuse it afterwards (RFUS_YN,
    rjct_qty in the daily inquiry): reconciliation must book REJECTED, release the cash, and
    leave an event log that still replays."""
    desk, broker = await _live(app_db)
    acc = await desk.service.account_for(1, "kis")
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
    assert o.status is OrderStatus.ACCEPTED and acc.reserved_cash() > 0
    v = broker.received[o.order_id]
    broker.received[o.order_id] = BrokerOrderView(v.broker_order_id, OrderStatus.REJECTED, 0, 0)
    result = await desk.service.reconcile(acc, BrokerBalance(10_000_000, {}))
    assert result["ok"]
    assert status(o) is OrderStatus.REJECTED and acc.reserved_cash() == 0
    svc = await desk.restart()
    acc = await svc.account_for(1, "kis")
    assert acc.orders[o.order_id].status is OrderStatus.REJECTED
    assert acc.available_cash() == 10_000_000


async def test_a_partly_filled_order_the_broker_reports_rejected_keeps_its_fills_and_replays(
    app_db: AsyncEngine,
) -> None:
    """The rest of a partly filled order refused at the broker: the fills stay booked, the
    order is closed (its remainder is gone), and the log replays after a restart."""
    desk, broker = await _live(app_db)
    acc = await desk.service.account_for(1, "kis")
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
    v = broker.received[o.order_id]
    broker.received[o.order_id] = BrokerOrderView(
        v.broker_order_id, OrderStatus.REJECTED, 4, 71_500, 4 * 71_500
    )
    await desk.service.reconcile(acc, BrokerBalance(10_000_000 - 286_042, {}))
    assert o.filled_quantity == 4 and not o.working and acc.reserved_cash() == 0
    svc = await desk.restart()
    acc = await svc.account_for(1, "kis")
    o2 = acc.orders[o.order_id]
    assert o2.filled_quantity == 4 and o2.status is OrderStatus.CANCELLED
    assert acc.position_qty(SAMSUNG) == 4


async def test_adding_to_a_position_held_overnight_counts_only_the_days_move(
    app_db: AsyncEngine,
) -> None:
    """99 shares bought at 100,000 on Friday, closed at 70,000; on Monday one more share at
    70,000 while the price stands at 70,000: the day's P&L is 0, not the old shares' loss
    since purchase (which halted the account under a daily-loss limit)."""
    friday = date(2026, 2, 27)
    desk = Desk(app_db)
    await desk.start()
    desk.board.prev[SAMSUNG] = desk.board.last[SAMSUNG] = 100_000
    desk.open_market(kst(10, 0, day=friday))
    acc = await desk.service.account_for(1)
    await desk.service.place(acc, limit(Side.BUY, 99, 100_000))
    await desk.trade(SAMSUNG, 100_000, 1_000, kst(10, 0, 1, day=friday))
    assert acc.position_qty(SAMSUNG) == 99
    desk.board.prev[SAMSUNG] = desk.board.last[SAMSUNG] = 70_000
    desk.open_market(kst(10, 0))
    assert desk.service.day_pnl(acc) == 0
    await desk.service.set_limits(acc, Limits(max_daily_loss=100_000))
    await desk.service.place(acc, limit(Side.BUY, 1, 70_000))
    await desk.trade(SAMSUNG, 70_000, 10, kst(10, 0, 1))
    assert acc.position_qty(SAMSUNG) == 100
    assert desk.service.day_pnl(acc) == 0
    assert safety(acc) is SafetyState.ACTIVE
    # the day's move then counts every share: overnight ones from the previous close, the
    # new one from its price; sells take the overnight shares first
    await desk.trade(SAMSUNG, 70_100, 10, kst(10, 0, 2))
    assert desk.service.day_pnl(acc) == 100 * 100
    sell, _ = await desk.service.place(acc, limit(Side.SELL, 50, 70_100))
    await desk.trade(SAMSUNG, 70_100, 100, kst(10, 0, 3))
    assert sell.status is OrderStatus.FILLED
    realized = sum(f for f in acc.realized_by_day.values())
    # 50 shares left: 49 overnight (+100 each from 70,000), 1 bought today (+100)
    assert desk.service.day_pnl(acc) == realized + 50 * 100


async def test_an_order_on_a_live_account_without_a_broker_is_refused_and_stores_nothing(
    app_db: AsyncEngine,
) -> None:
    """Before KIS connects (or while it is being reconnected) orders are refused; the refusal
    left a NEW order behind that held its cash until the broker came back."""
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1, "kis")
    await desk.service.adopt_balance(acc, BrokerBalance(10_000_000, {}))
    events = await event_count(app_db)
    with pytest.raises(InvalidRequest):
        await desk.service.place(acc, limit(Side.BUY, 1, 71_500))
    assert acc.orders == {} and acc.available_cash() == 10_000_000
    assert await event_count(app_db) == events
