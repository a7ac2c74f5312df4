"""The order path on both databases: fills against the tape, exact fees/tax/P&L, the state
machine, idempotent retries, restarts rebuilt from the event log."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import OrderConflict
from aegis.trading import tables
from aegis.trading.eventlog import Event, NewEvent
from aegis.trading.models import Fill, OrderStatus, Side
from tests.trading.support import HYNIX, SAMSUNG, Desk, kst, limit, market, status, tick


async def event_count(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(tables.events))).scalar_one()
        )


async def test_paper_round_trip_has_exact_fees_tax_and_pnl(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    svc = desk.service
    await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    assert acc.cash == 10_000_000

    buy, created = await svc.place(acc, limit(Side.BUY, 10, 71_500))
    assert created and buy.status is OrderStatus.ACCEPTED
    # 10 × 71,500 + commission held
    assert acc.available_cash() == 10_000_000 - 715_000 - 107

    await desk.trade(SAMSUNG, 71_500, 3, kst(10, 0, 1))
    assert status(buy) is OrderStatus.PARTIALLY_FILLED and buy.filled_quantity == 3
    await desk.trade(SAMSUNG, 71_400, 100, kst(10, 0, 2))
    assert status(buy) is OrderStatus.FILLED
    assert buy.average_fill_price == 71_500  # resting, traded through: filled at the limit
    # commissions per fill, truncated: 214,500 → 32; 500,500 → 75
    assert acc.cash == 10_000_000 - 715_000 - 32 - 75
    pos = acc.positions[SAMSUNG]
    assert (pos.quantity, pos.cost, pos.average_price) == (10, 715_000, 71_500)

    sell, _ = await svc.place(acc, market(Side.SELL, 10))
    await desk.trade(SAMSUNG, 72_000, 50, kst(10, 1))
    assert sell.status is OrderStatus.FILLED
    # 720,000: commission 108, tax 0.20 % = 1,440; P&L net of both commissions and the tax
    assert acc.positions[SAMSUNG].realized_pnl == 720_000 - 715_000 - 107 - 108 - 1_440
    assert acc.cash == 10_000_000 + 3_345
    view = svc.portfolio(acc)
    assert view["realizedPnl"] == 3_345 and view["positions"] == []
    assert view["totalValue"] == 10_003_345


async def test_market_order_fills_at_next_trades_bounded_by_volume(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1)
    o, _ = await desk.service.place(acc, market(Side.BUY, 5))
    await desk.trade(SAMSUNG, 71_600, 2, kst(10, 0, 1))
    await desk.trade(SAMSUNG, 71_700, 10, kst(10, 0, 2))
    assert o.status is OrderStatus.FILLED
    assert o.filled_amount == 2 * 71_600 + 3 * 71_700
    # the market buy held cash at the upper limit; what is left is released
    assert acc.reserved_cash() == 0


async def test_limit_order_waits_until_the_tape_reaches_it(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1)
    o, _ = await desk.service.place(acc, limit(Side.BUY, 5, 71_000))
    await desk.trade(SAMSUNG, 71_100, 100, kst(10, 0, 1))
    assert o.status is OrderStatus.ACCEPTED and o.filled_quantity == 0
    await desk.trade(SAMSUNG, 71_000, 100, kst(10, 0, 2))
    assert status(o) is OrderStatus.FILLED and o.filled_amount == 5 * 71_000


async def test_client_order_id_makes_a_retry_idempotent(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1)
    first, created = await desk.service.place(acc, limit(Side.BUY, 1, 71_500, cid="abc"))
    again, created_again = await desk.service.place(acc, limit(Side.BUY, 1, 71_500, cid="abc"))
    assert created and not created_again and again is first
    assert len(acc.orders) == 1


async def test_restart_rebuilds_state_and_keeps_filling_without_duplicates(
    app_db: AsyncEngine,
) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(7)
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500, cid="k1"))
    await desk.trade(SAMSUNG, 71_500, 4, kst(10, 0, 1))
    before = (acc.cash, acc.positions[SAMSUNG].quantity, o.filled_quantity, o.status)

    svc = await desk.restart()
    acc2 = await svc.account_for(7)
    o2 = acc2.orders[o.order_id]
    assert (acc2.cash, acc2.positions[SAMSUNG].quantity, o2.filled_quantity, o2.status) == before
    # the retry after the restart finds the same order
    same, created = await svc.place(acc2, limit(Side.BUY, 10, 71_500, cid="k1"))
    assert same is o2 and not created
    # the rest fills once, from the rebuilt paper book
    await desk.trade(SAMSUNG, 71_500, 100, kst(10, 0, 5))
    await desk.trade(SAMSUNG, 71_500, 100, kst(10, 0, 6))
    assert o2.status is OrderStatus.FILLED and o2.filled_quantity == 10
    assert acc2.positions[SAMSUNG].quantity == 10
    async with app_db.connect() as conn:
        n = (await conn.execute(sa.select(sa.func.count()).select_from(tables.fills))).scalar()
    assert n == 2


async def test_cancel_releases_cash_and_a_filled_order_cannot_be_cancelled(
    app_db: AsyncEngine,
) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1)
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_000))
    await desk.service.cancel(acc, o.order_id)
    assert o.status is OrderStatus.CANCELLED and acc.available_cash() == acc.cash
    await desk.trade(SAMSUNG, 70_000, 100, kst(10, 0, 1))
    assert o.filled_quantity == 0  # gone from the paper book too

    try:
        await desk.service.cancel(acc, o.order_id)
    except OrderConflict as exc:
        assert exc.status == 409
    else:  # pragma: no cover
        raise AssertionError("cancelled twice")


async def test_day_orders_expire_after_the_close(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market(kst(15, 0))
    acc = await desk.service.account_for(1)
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 70_000))
    await desk.trade(HYNIX, 180_000, 1, kst(15, 35))
    assert o.status is OrderStatus.EXPIRED and acc.reserved_cash() == 0


async def test_closing_auction_orders_fill_at_the_auction_print(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market(kst(15, 25))
    acc = await desk.service.account_for(1)
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 72_000))
    # continuous trades after entry do not fill an auction order (none happen in the auction,
    # but a late print must not either)
    await desk.trade(SAMSUNG, 71_000, 100, kst(15, 19))
    assert o.filled_quantity == 0
    await desk.trade(SAMSUNG, 71_800, 1_000, kst(15, 30))
    assert o.status is OrderStatus.FILLED and o.filled_amount == 10 * 71_800


async def test_no_fills_outside_the_session(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    await desk.start()
    desk.open_market(kst(15, 10))
    acc = await desk.service.account_for(1)
    o, _ = await desk.service.place(acc, market(Side.BUY, 1))
    await desk.trade(SAMSUNG, 71_500, 10, kst(15, 22))  # inside the closing auction period
    assert o.filled_quantity == 0


async def test_day_orders_resting_at_the_close_take_part_in_the_closing_auction(
    app_db: AsyncEngine,
) -> None:
    """KRX's closing single-price auction (15:20–15:30) matches every resting day order: a
    limit bid from the morning that the 15:30 print reaches fills at the print; one it does
    not reach expires."""
    desk = Desk(app_db)
    await desk.start()
    desk.open_market(kst(10, 0))
    acc = await desk.service.account_for(1)
    reached, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_000))
    missed, _ = await desk.service.place(acc, limit(Side.BUY, 5, 70_000))
    await desk.trade(SAMSUNG, 71_500, 100, kst(10, 0, 1))  # above both: they rest
    assert reached.filled_quantity == 0 and missed.filled_quantity == 0
    await desk.trade(SAMSUNG, 70_900, 1_000, kst(15, 30))  # the closing auction print
    assert status(reached) is OrderStatus.FILLED and reached.filled_amount == 10 * 70_900
    assert status(missed) is OrderStatus.EXPIRED and acc.reserved_cash() == 0


async def test_a_paper_fill_that_could_not_be_stored_is_matched_again(
    app_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database failure while storing a fill that used up the whole order: the paper book
    had already dropped the order, so the order stayed ACCEPTED with its cash held, never
    filled, never expired and could not be cancelled (409) until a restart."""
    desk = Desk(app_db)
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1)
    o, _ = await desk.service.place(acc, limit(Side.BUY, 10, 71_500))
    real_append = desk.service.log.append
    failures = 0

    async def failing_append(
        account_id: int, new: Sequence[NewEvent], fill: Fill | None = None
    ) -> list[Event]:
        nonlocal failures
        if fill is not None and not failures:
            failures += 1
            raise OSError("disk full")
        return await real_append(account_id, new, fill)

    monkeypatch.setattr(desk.service.log, "append", failing_append)
    await desk.trade(SAMSUNG, 71_500, 100, kst(10, 0, 1))
    assert failures == 1 and o.filled_quantity == 0 and status(o) is OrderStatus.ACCEPTED
    await desk.trade(SAMSUNG, 71_500, 100, kst(10, 0, 2))  # matched again, stored this time
    assert status(o) is OrderStatus.FILLED and acc.position_qty(SAMSUNG) == 10


async def test_a_cancel_racing_a_paper_fill_keeps_the_matched_shares_and_cancelled(
    app_db: AsyncEngine,
) -> None:
    """The paper exchange matched 4 of 10 shares; before that fill was stored a cancel took the
    account's lock and closed the order. The fill used to be dropped: the tape's volume was
    spent, yet the account had neither the shares nor paid for them. The 4 shares are booked,
    the order ends CANCELLED with them, and a restart rebuilds the same numbers."""
    desk = Desk(app_db)
    svc = desk.service
    await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    o, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500))

    await acc.lock.acquire()  # the cancel queues first, the tape's fill behind it
    cancel = asyncio.create_task(svc.cancel(acc, o.order_id))
    await asyncio.sleep(0)
    tape = asyncio.create_task(svc.apply_tape([tick(SAMSUNG, 71_500, 4, kst(10, 0, 1))]))
    await asyncio.sleep(0)  # the task's first step: matched, now waiting for the lock
    assert svc.paper.by_id[o.order_id].filled == 4
    acc.lock.release()
    await cancel
    await tape

    commission = 4 * 71_500 * 15 // 100_000
    expected = (OrderStatus.CANCELLED, 4, 4, 10_000_000 - 4 * 71_500 - commission, 0)
    assert (
        status(o),
        o.filled_quantity,
        acc.position_qty(SAMSUNG),
        acc.cash,
        acc.reserved_cash(),
    ) == expected
    await desk.trade(SAMSUNG, 71_000, 100, kst(10, 0, 2))  # the rest is gone
    assert o.filled_quantity == 4

    svc2 = await desk.restart()
    acc2 = await svc2.account_for(1)
    o2 = acc2.orders[o.order_id]
    rebuilt = (o2.status, o2.filled_quantity, acc2.position_qty(SAMSUNG), acc2.cash, 0)
    assert rebuilt == expected
    assert o2.order_id not in svc2.paper.by_id


async def test_a_cancel_after_the_paper_exchange_filled_the_whole_order_is_refused(
    app_db: AsyncEngine,
) -> None:
    """The whole order was matched but not stored yet when the cancel came: the cancel is a
    409 that says the order is FILLED, and the order's shares are booked by then."""
    desk = Desk(app_db)
    svc = desk.service
    await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    o, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500))

    await acc.lock.acquire()
    cancel = asyncio.create_task(svc.cancel(acc, o.order_id))
    await asyncio.sleep(0)
    tape = asyncio.create_task(svc.apply_tape([tick(SAMSUNG, 71_500, 100, kst(10, 0, 1))]))
    await asyncio.sleep(0)  # the task's first step: matched in full, waiting for the lock
    assert o.order_id not in svc.paper.by_id
    acc.lock.release()
    with pytest.raises(OrderConflict) as refused:
        await cancel
    await tape
    assert refused.value.details == {"status": "FILLED"}
    assert status(o) is OrderStatus.FILLED and acc.position_qty(SAMSUNG) == 10


async def test_an_expiry_racing_a_paper_fill_keeps_the_matched_shares(
    app_db: AsyncEngine,
) -> None:
    """A tape batch matched 4 shares of a day order at 15:19:30, but its fill waited behind
    another account's fill of the same batch; meanwhile the 1-second expiry check
    (``apply_tape([])``, the clock past the close) expired the order and the fill was dropped.
    It is booked first, then the rest expires."""
    desk = Desk(app_db)
    svc = desk.service
    await desk.start()
    desk.open_market(kst(15, 19))
    acc = await svc.account_for(1)
    other = await svc.account_for(2)
    o, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500))
    await svc.place(other, limit(Side.BUY, 1, 180_000, symbol=HYNIX))

    await other.lock.acquire()  # the batch's first fill (the other account's) waits
    at = kst(15, 19, 30)
    batch = [tick(HYNIX, 180_000, 100, at), tick(SAMSUNG, 71_500, 4, at)]
    tape = asyncio.create_task(svc.apply_tape(batch))
    await asyncio.sleep(0)  # the task's first step: matched, now waiting for the lock
    assert svc.paper.by_id[o.order_id].filled == 4
    svc.paper.clock = kst(15, 45)
    await svc.apply_tape([])  # the safety loop's expiry check
    other.lock.release()
    await tape
    assert (status(o), o.filled_quantity, acc.position_qty(SAMSUNG)) == (
        OrderStatus.EXPIRED,
        4,
        4,
    )


async def test_a_cancel_whose_racing_fill_cannot_be_stored_leaves_the_order_open(
    app_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matched fill the cancel must book first fails to store: the cancel is refused and
    the order, with all it has not stored, is back in the paper book and fills later."""
    desk = Desk(app_db)
    svc = desk.service
    await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    o, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500))
    real_append = svc.log.append
    failures = 0

    async def failing_append(
        account_id: int, new: Sequence[NewEvent], fill: Fill | None = None
    ) -> list[Event]:
        nonlocal failures
        if fill is not None and not failures:
            failures += 1
            raise OSError("disk full")
        return await real_append(account_id, new, fill)

    monkeypatch.setattr(svc.log, "append", failing_append)
    await acc.lock.acquire()
    cancel = asyncio.create_task(svc.cancel(acc, o.order_id))
    await asyncio.sleep(0)
    tape = asyncio.create_task(svc.apply_tape([tick(SAMSUNG, 71_500, 4, kst(10, 0, 1))]))
    await asyncio.sleep(0)  # the task's first step: matched, now waiting for the lock
    assert svc.paper.by_id[o.order_id].filled == 4
    acc.lock.release()
    with pytest.raises(OrderConflict):
        await cancel
    await tape
    assert failures == 1 and status(o) is OrderStatus.ACCEPTED and o.filled_quantity == 0
    assert svc.paper.by_id[o.order_id].remaining == 10
    await desk.trade(SAMSUNG, 71_500, 100, kst(10, 0, 2))
    assert status(o) is OrderStatus.FILLED and acc.position_qty(SAMSUNG) == 10
