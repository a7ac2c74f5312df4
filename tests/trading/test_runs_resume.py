"""Strategy runs survive a restart: a run started on paper runs again in the new process with
what it had done taken from the event log (positions, pending orders), nothing placed twice; a
stopped run stays stopped."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.trading import tables
from aegis.trading.models import OrderStatus
from aegis.trading.runner import StrategyRunner
from aegis.trading.runs import StrategyRuns
from aegis.trading.strategies import builtin
from aegis.trading.strategies.base import Bar, Context, FillInfo, Strategy
from tests.trading.support import SAMSUNG, Desk, kst, tick, until


class OpenAndWait(Strategy):
    """Bids in ``on_start`` (a resting limit), then records candles and fills."""

    name = "open_and_wait"
    defaults: ClassVar[dict[str, Any]] = {"qty": 4, "price": 71_000}

    def on_start(self, ctx: Context) -> None:
        self.bars: list[Bar] = []
        self.fills: list[FillInfo] = []
        if not ctx.position(SAMSUNG):
            ctx.buy(SAMSUNG, int(self.params["qty"]), int(self.params["price"]))

    def on_candle(self, ctx: Context, bar: Bar) -> None:
        self.bars.append(bar)

    def on_fill(self, ctx: Context, fill: FillInfo) -> None:
        self.fills.append(fill)


async def _runs_state(db: AsyncEngine) -> dict[int, str]:
    async with db.connect() as conn:
        rows = (await conn.execute(sa.select(tables.strategy_runs))).all()
    return {r.id: r.state for r in rows}


async def trade(desk: Desk, price: int, volume: int, ts: int) -> None:
    """A trade through the whole tape path: paper matching, then strategy runners."""
    desk.board.last[SAMSUNG] = price
    await desk.service.process_ticks([tick(SAMSUNG, price, volume, ts)])


async def test_running_strategy_resumes_after_restart_without_replaying(
    app_db: AsyncEngine, monkeypatch: Any
) -> None:
    monkeypatch.setitem(builtin.BUILTINS, OpenAndWait.name, OpenAndWait)
    desk = Desk(app_db)
    svc = await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    runs = StrategyRuns(svc)
    first = await runs.start(acc, "open_and_wait", [SAMSUNG], "1m", {"qty": 4})
    stopped = await runs.start(acc, "ma_cross", [SAMSUNG], "1m", {"fast": 2, "slow": 3})
    await runs.stop(acc, stopped.runner_id)
    # the on_start bid is placed after the next trades; then 1 share of 4 fills at 71,000
    await trade(desk, 71_100, 1, kst(10, 0, 4))
    await trade(desk, 71_000, 1, kst(10, 0, 5))
    bids = [o for o in acc.orders.values() if o.strategy == "open_and_wait"]
    assert len(bids) == 1 and bids[0].status is OrderStatus.PARTIALLY_FILLED
    assert first.orders == 1
    assert await _runs_state(app_db) == {first.runner_id: "running", stopped.runner_id: "stopped"}

    svc = await desk.restart()
    resumed = await StrategyRuns(svc).resume()
    assert [r.runner_id for r in resumed] == [first.runner_id]  # the stopped one stays stopped
    runner = svc.runners[first.runner_id]
    assert isinstance(runner, StrategyRunner) and runner.resumed
    acc = svc.accounts[acc.account_id]
    # what it had done comes from the log: its order counted, its position held
    assert runner.orders == 1 and acc.position_qty(SAMSUNG) == 1
    assert runner.view()["resumed"] is True

    # nothing is placed again: the pending bid is the same order, still working in the book
    await trade(desk, 71_000, 10, kst(10, 1, 5))
    bids = [o for o in acc.orders.values() if o.strategy == "open_and_wait"]
    assert len(bids) == 1 and bids[0].status is OrderStatus.FILLED
    assert acc.position_qty(SAMSUNG) == 4
    strat = runner.strategy
    assert isinstance(strat, OpenAndWait)
    # the resumed runner gets the fill of the order placed before the restart, and candles
    await until(lambda: len(strat.fills) == 1, "the fill reaches the resumed strategy")
    assert (strat.fills[0].quantity, strat.fills[0].price) == (3, 71_000)
    await trade(desk, 71_100, 1, kst(10, 2, 0))
    assert strat.bars and strat.bars[-1].start == kst(10, 1)

    # a second restart still resumes it; after a stop it stays stopped
    svc = await desk.restart()
    assert [r.runner_id for r in await StrategyRuns(svc).resume()] == [first.runner_id]
    acc = svc.accounts[acc.account_id]
    await StrategyRuns(svc).stop(acc, first.runner_id)
    svc = await desk.restart()
    assert await StrategyRuns(svc).resume() == []
    assert not svc.runners
    await svc.close()


async def test_run_that_cannot_be_resumed_is_marked_failed(
    app_db: AsyncEngine, monkeypatch: Any
) -> None:
    monkeypatch.setitem(builtin.BUILTINS, OpenAndWait.name, OpenAndWait)
    desk = Desk(app_db)
    svc = await desk.start()
    desk.open_market()
    acc = await svc.account_for(1)
    run = await StrategyRuns(svc).start(acc, "open_and_wait", [SAMSUNG], "1m")
    monkeypatch.delitem(builtin.BUILTINS, OpenAndWait.name)  # its file is gone
    svc = await desk.restart()
    assert await StrategyRuns(svc).resume() == []
    assert await _runs_state(app_db) == {run.runner_id: "failed"}
    async with app_db.connect() as conn:
        error = (await conn.execute(sa.select(tables.strategy_runs.c.error))).scalar_one()
    assert "open_and_wait" in error
    await svc.close()
