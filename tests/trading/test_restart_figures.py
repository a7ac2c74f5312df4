"""The same numbers after a restart: a trading day and the next on a paper and on a live
account (partial fills, a cancel, a sale with tax, a fee adjustment, a day boundary, a reset);
at each restart every figure the API shows is compared before and after the books are rebuilt
from the event log. Clocks are injected: nothing depends on the hour the suite runs at."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import InvalidRequest
from aegis.trading.book import Account
from aegis.trading.live import LiveAccount
from aegis.trading.models import Order, OrderStatus, Side
from aegis.trading.service import TradingConfig, TradingService
from aegis.trading.tradelog import TradeQuery
from tests.fakes.kis_trading import FakeKisTrading
from tests.trading.support import (
    HYNIX,
    SAMSUNG,
    Desk,
    figures,
    kst,
    limit,
    live_account,
    status,
    until,
)

DAY2 = date(2026, 3, 3)


class Clock:
    """Real time for the service, moved by the test."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        self.now += 1_000  # events keep their order
        return self.now


async def restarted(desk: Desk, user: int, kind: str = "paper") -> tuple[TradingService, Account]:
    """Restart the service; the account's figures must not change."""
    acc = await desk.service.account_for(user, kind)
    before = await figures(desk.service, acc)
    svc = await desk.restart()
    acc = await svc.account_for(user, kind)
    assert await figures(svc, acc) == before
    return svc, acc


async def test_a_paper_account_shows_the_same_numbers_after_every_restart(
    app_db: AsyncEngine,
) -> None:
    clock = Clock(kst(9, 59))
    desk = Desk(app_db, wall=clock)
    svc = await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)

    buy, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500, cid="b1"))
    await desk.trade(SAMSUNG, 71_500, 4, kst(10, 0, 1))
    assert status(buy) is OrderStatus.PARTIALLY_FILLED
    svc, acc = await restarted(desk, 1)
    buy = acc.orders[buy.order_id]

    # the rest of the order rests at its limit: traded through, it fills at its limit
    await desk.trade(SAMSUNG, 71_000, 100, kst(10, 1))
    assert status(buy) is OrderStatus.FILLED
    assert buy.filled_amount == 10 * 71_500

    # a cancel, and a partial fill then a cancel
    gone, _ = await svc.place(acc, limit(Side.BUY, 5, 70_000, cid="b2"))
    await svc.cancel(acc, gone.order_id)
    part, _ = await svc.place(acc, limit(Side.BUY, 5, 71_000, cid="b3"))
    await desk.trade(SAMSUNG, 71_000, 2, kst(10, 2))
    await svc.cancel(acc, part.order_id)
    assert (status(part), part.filled_quantity) == (OrderStatus.CANCELLED, 2)
    svc, acc = await restarted(desk, 1)

    sell, _ = await svc.place(acc, limit(Side.SELL, 8, 72_000, cid="s1"))
    await desk.trade(SAMSUNG, 72_000, 8, kst(14, 0))
    assert status(sell) is OrderStatus.FILLED
    p = svc.portfolio(acc)
    # bought 10 × 71,500 (commission 42 + 64) and 2 × 71,000 (21); sold 8 × 72,000:
    # commission 86, tax 0.20 % 1,152, cost 857,000 × 8/12 = 571,333, buy commissions 84
    realized = 576_000 - 571_333 - 84 - 86 - 1_152
    assert p["realizedPnl"] == realized == 3_345
    assert p["cash"] == 10_000_000 - 715_000 - 106 - 142_021 + 576_000 - 86 - 1_152
    # today's realised P&L and today's move of the 4 shares bought today (cost 285,666)
    assert p["dayPnl"] == realized + 4 * 72_000 - 285_666
    trades = await svc.today_trades(acc)
    assert sum(t["realizedPnl"] for t in trades) == realized
    svc, acc = await restarted(desk, 1)

    # the next day: its own P&L, the shares held overnight move from the previous close
    clock.now = kst(9, 0, day=DAY2)
    desk.board.prev[SAMSUNG] = 72_000
    await desk.trade(SAMSUNG, 73_000, 1, kst(10, 0, day=DAY2))
    p = svc.portfolio(acc)
    assert p["dayPnl"] == 4 * (73_000 - 72_000) and p["realizedPnl"] == realized
    assert await svc.today_trades(acc) == []
    svc, acc = await restarted(desk, 1)

    await svc.reset(acc)
    p = svc.portfolio(acc)
    assert (p["cash"], p["realizedPnl"], p["dayPnl"], p["positions"]) == (10_000_000, 0, 0, [])
    svc, acc = await restarted(desk, 1)
    await svc.close()


async def test_a_resting_paper_order_fills_at_its_limit_after_a_restart(
    app_db: AsyncEngine,
) -> None:
    """A paper buy at 71,500 that the tape passed by (it rests in the book), then a restart:
    it came back as if just arriving, so a sale through it at 71,000 filled it at 71,000;
    without the restart it fills at its limit, 71,500. An order placed before the opening
    auction whose symbol has not traded since still waits for the auction print."""
    desk = Desk(app_db, wall=Clock(kst(8, 40)))
    svc = await desk.start()
    desk.open_market(kst(8, 40))
    acc = await svc.account_for(1)
    rests, _ = await svc.place(acc, limit(Side.BUY, 3, 71_500, cid="r"))
    waits, _ = await svc.place(acc, limit(Side.BUY, 2, 180_000, HYNIX, cid="w"))
    await desk.trade(SAMSUNG, 72_000, 10, kst(9, 0))  # the auction print: above the limit
    svc, acc = await restarted(desk, 1)
    await desk.trade(SAMSUNG, 71_000, 10, kst(9, 1))
    assert acc.orders[rests.order_id].filled_amount == 3 * 71_500
    await desk.trade(HYNIX, 179_000, 10, kst(9, 2))  # its auction print, at the print's price
    assert acc.orders[waits.order_id].filled_amount == 2 * 179_000
    await svc.close()


async def live_restarted(
    desk: Desk, live: LiveAccount, fake: FakeKisTrading, tmp_path: Path
) -> LiveAccount:
    """Restart the service and connect the account again; its figures must not change,
    neither rebuilt from the log nor after the connection's reconciliation."""
    before = await figures(desk.service, live.account)
    await live.close()
    svc = await desk.restart()
    acc = await svc.account_for(1, "kis")
    assert await figures(svc, acc) == before
    live = live_account(desk, fake, tmp_path, acc)
    await live.start()
    await until(lambda: live.stream.connections >= 1, "the notice stream")
    assert live.last_result is not None and live.last_result["ok"]
    assert await figures(svc, acc) == before
    return live


async def test_a_live_account_shows_the_same_numbers_after_every_restart(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """The broker charges 0.025 % where the books assume 0.015 %: reconciliation adopts the
    difference as the fills' commission."""
    fake.commission_rate = Decimal("0.00025")
    clock = Clock(kst(9, 59))
    desk = Desk(app_db, TradingConfig(broker_timeout=1.0), wall=clock)
    await desk.start()
    desk.open_market()
    live = live_account(desk, fake, tmp_path, await desk.service.account_for(1, "kis"))
    await live.start()
    await until(lambda: live.stream.connections >= 1, "the notice stream")
    svc, acc = desk.service, live.account

    def odno(o: Order) -> str:
        assert o.broker_order_id is not None
        return o.broker_order_id.split(":")[1]

    buy, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500, cid="b1"))
    await fake.fill(odno(buy), 4, 71_500)
    await until(lambda: buy.filled_quantity == 4, "the first fill")
    await fake.fill(odno(buy), 6, 71_500)
    await until(lambda: buy.filled_quantity == 10, "the second fill")
    part, _ = await svc.place(acc, limit(Side.BUY, 5, 71_000, cid="b2"))
    await fake.fill(odno(part), 2, 71_000)
    await until(lambda: part.filled_quantity == 2, "the partial fill")
    await svc.cancel(acc, part.order_id)
    assert status(part) is OrderStatus.CANCELLED
    await live.reconcile()
    # ours 42 + 64 + 21, the broker's 71 + 107 + 35
    assert live.last_result == {"ok": True, "differences": [], "feeAdjustment": -86}
    live = await live_restarted(desk, live, fake, tmp_path)
    svc, acc = desk.service, live.account

    sell, _ = await svc.place(acc, limit(Side.SELL, 8, 72_000, cid="s1"))
    await fake.fill(odno(sell), 8, 72_000)
    await until(lambda: status(sell) is OrderStatus.FILLED, "the sale")
    await live.reconcile()
    assert live.last_result == {"ok": True, "differences": [], "feeAdjustment": -58}
    p = svc.portfolio(acc)
    # sold 8 × 72,000: commission 144, tax 1,152; cost 857,000 × 8/12 = 571,333 and its
    # buy commissions 213 × 8/12 = 142
    realized = 576_000 - 571_333 - 142 - 144 - 1_152
    assert p["realizedPnl"] == realized and p["cash"] == fake.cash
    assert p["dayPnl"] == realized + 4 * 71_500 - 285_666
    today = await svc.today_trades(acc)
    assert sum(t["realizedPnl"] for t in today) == realized
    assert [t["commission"] for t in today] == [144, 35, 107, 71]
    live = await live_restarted(desk, live, fake, tmp_path)
    svc, acc = desk.service, live.account

    # the next day: its own P&L; the shares held overnight move from the previous close
    clock.now = kst(9, 0, day=DAY2)
    desk.board.prev[SAMSUNG] = 71_500
    desk.board.last[SAMSUNG] = 72_500
    p = svc.portfolio(acc)
    assert p["dayPnl"] == 4 * 1_000 and p["realizedPnl"] == realized
    assert await svc.today_trades(acc) == []
    live = await live_restarted(desk, live, fake, tmp_path)
    with pytest.raises(InvalidRequest):
        await desk.service.reset(live.account)
    live = await live_restarted(desk, live, fake, tmp_path)
    await live.close()
    await desk.service.close()


async def test_a_live_fill_booked_after_a_restart_overnight_keeps_its_trading_day(
    app_db: AsyncEngine, fake: FakeKisTrading, tmp_path: Path
) -> None:
    """A live order fills at KIS while AEGIS is down; it starts again the next morning and
    books the fill from the broker's inquiry. It was dated the morning it was booked: in
    that day's P&L and trades, not in the day it traded (and taxed at that day's rate)."""
    wed, thu = date(2026, 3, 4), date(2026, 3, 5)
    clock = Clock(kst(10, 0, day=wed))
    desk = Desk(app_db, TradingConfig(broker_timeout=1.0), wall=clock)
    await desk.start()
    desk.open_market(kst(10, 0, day=wed))
    live = live_account(desk, fake, tmp_path, await desk.service.account_for(1, "kis"))
    await live.start()
    svc, acc = desk.service, live.account
    buy, _ = await svc.place(acc, limit(Side.BUY, 10, 71_500))
    assert buy.broker_order_id is not None
    await live.close()
    await fake.fill(buy.broker_order_id.split(":")[1], 10, 71_500, notify=False)

    clock.now = kst(9, 0, day=thu)
    svc = await desk.restart()
    live = live_account(desk, fake, tmp_path, await svc.account_for(1, "kis"))
    await live.start()
    acc = live.account
    assert status(acc.orders[buy.order_id]) is OrderStatus.FILLED
    trades, _ = await svc.trades(acc, TradeQuery())
    assert [t["time"] for t in trades] == ["2026-03-04T06:30:00.000Z"]  # 15:30 KST
    assert await svc.today_trades(acc) == []
    await live.close()
    await svc.close()
