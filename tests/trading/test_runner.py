"""The same strategy code on paper: candles built from the tape, orders through every guard,
fills back to the strategy."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.trading.models import OrderStatus, Side
from aegis.trading.runner import StrategyRunner
from aegis.trading.strategies.base import Bar, Context, FillInfo, Strategy
from tests.trading.support import DAY, SAMSUNG, Desk, kst, tick


class BuyThenSell(Strategy):
    name = "buy_then_sell"
    defaults: ClassVar[dict[str, Any]] = {"qty": 3}

    def on_start(self, ctx: Context) -> None:
        self.bars: list[Bar] = []
        self.fills: list[FillInfo] = []

    def on_candle(self, ctx: Context, bar: Bar) -> None:
        self.bars.append(bar)
        if len(self.bars) == 1:
            ctx.buy(bar.symbol, int(self.params["qty"]))
        elif len(self.bars) == 2 and ctx.position(bar.symbol):
            ctx.sell(bar.symbol, ctx.position(bar.symbol))
        elif len(self.bars) == 3:
            ctx.buy(bar.symbol, 10_000)  # far over cash: refused by the guards

    def on_fill(self, ctx: Context, fill: FillInfo) -> None:
        self.fills.append(fill)


async def test_strategy_runs_on_paper_through_the_order_path(app_db: AsyncEngine) -> None:
    desk = Desk(app_db)
    svc = await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    strat = BuyThenSell()
    runner = StrategyRunner(svc, acc, strat, [SAMSUNG], "1m")
    runner.start()

    async def trade(price: int, ts: int) -> None:
        desk.board.last[SAMSUNG] = price
        await svc.process_ticks([tick(SAMSUNG, price, 100, ts)])

    await trade(71_500, kst(10, 0, 1))
    await trade(71_600, kst(10, 0, 30))
    await trade(71_700, kst(10, 1, 0))  # closes 10:00 → buy 3 (market)
    assert strat.bars[0].close == 71_600 and strat.bars[0].high == 71_600
    await trade(71_800, kst(10, 1, 5))  # fills the buy
    buy = next(o for o in acc.orders.values() if o.side is Side.BUY)
    assert buy.status is OrderStatus.FILLED and buy.strategy == "buy_then_sell"
    await trade(71_900, kst(10, 2, 0))  # closes 10:01 → sell 3
    await trade(72_000, kst(10, 2, 5))
    await trade(72_100, kst(10, 3, 0))  # closes 10:02 → refused buy
    assert acc.position_qty(SAMSUNG) == 0
    assert runner.orders == 2 and runner.refusals == [f"BUY 10000 {SAMSUNG}: INSUFFICIENT_CASH"]
    for _ in range(200):
        if len(strat.fills) == 2:
            break
        await asyncio.sleep(0.01)
    assert [f.side for f in strat.fills] == ["BUY", "SELL"]
    await runner.stop()
    assert runner.watches not in svc.tape_filters


class DipBuyer(Strategy):
    """Bids 1 % under each close: a price off the tick grid."""

    name = "dip_buyer"
    defaults: ClassVar[dict[str, Any]] = {}

    def on_candle(self, ctx: Context, bar: Bar) -> None:
        if not ctx.position(bar.symbol):
            ctx.buy(bar.symbol, 1, bar.close * 99 // 100)


async def test_live_limit_prices_are_snapped_to_the_tick_grid_as_in_backtests(
    app_db: AsyncEngine,
) -> None:
    """The strategy interface promises limits snapped to the grid (buys down, sells up, as the
    backtest does); on paper an off-grid price was refused with TICK_SIZE instead."""
    desk = Desk(app_db)
    svc = await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    runner = StrategyRunner(svc, acc, DipBuyer(), [SAMSUNG], "1m")
    runner.start()
    desk.board.last[SAMSUNG] = 71_600
    await svc.process_ticks([tick(SAMSUNG, 71_600, 100, kst(10, 0, 1))])
    await svc.process_ticks([tick(SAMSUNG, 71_600, 100, kst(10, 1, 0))])  # closes 10:00
    assert runner.refusals == []
    (order,) = acc.orders.values()
    assert order.price == 70_800  # 71,600 × 0.99 = 70,884, down to the 100-won tick
    assert order.status is OrderStatus.ACCEPTED
    await runner.stop()


class BarRecorder(Strategy):
    name = "bar_recorder"
    defaults: ClassVar[dict[str, Any]] = {}

    def on_start(self, ctx: Context) -> None:
        self.bars: list[Bar] = []

    def on_candle(self, ctx: Context, bar: Bar) -> None:
        self.bars.append(bar)


async def test_a_daily_run_builds_one_candle_per_kst_trading_day(app_db: AsyncEngine) -> None:
    """A 1d candle is a KST day, as the stored candles and the backtest have it: the next
    morning's pre-market trades (08:30–08:40) open the next day's candle. Cut at UTC midnight
    (09:00 KST) they were folded into the previous day's candle and closed nothing."""
    desk = Desk(app_db)
    svc = await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    strat = BarRecorder()
    runner = StrategyRunner(svc, acc, strat, [SAMSUNG], "1d")
    runner.start()
    nxt = DAY + timedelta(days=1)
    for price, ts in [
        (71_500, kst(8, 31)),  # 시간외 종가 before the open: this day's candle
        (71_600, kst(10, 0)),
        (71_400, kst(15, 30)),
        (72_000, kst(8, 35, day=nxt)),  # the next day's pre-market trade closes the day
    ]:
        await svc.process_ticks([tick(SAMSUNG, price, 100, ts)])
    (bar,) = strat.bars
    assert bar.start == kst(0, 0)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        71_500,
        71_600,
        71_400,
        71_400,
        300,
    )
    await runner.stop()
