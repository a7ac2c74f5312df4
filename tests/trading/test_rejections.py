"""Every refusal: 400 ORDER_REJECTED with its reason (or INVALID_REQUEST for malformed input),
and nothing stored or changed."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import InvalidRequest, NotFound, OrderRejected
from aegis.trading.models import Limits, OrderRequest, OrderType, SafetyState, Side
from aegis.trading.service import TradingConfig
from tests.trading.support import SAMSUNG, Desk, event_count, kst, limit, market


async def _desk(app_db: AsyncEngine, config: TradingConfig | None = None) -> Desk:
    desk = Desk(app_db, config)
    await desk.start()
    desk.open_market()
    return desk


async def _rejected(desk: Desk, req: OrderRequest, reason: str, user: int = 1) -> None:
    acc = await desk.service.account_for(user)
    before = (await event_count(desk.db), acc.cash, len(acc.orders), acc.reserved_cash())
    with pytest.raises(OrderRejected) as info:
        await desk.service.place(acc, req)
    assert info.value.status == 400 and info.value.code == "ORDER_REJECTED"
    assert info.value.details["reason"] == reason
    after = (await event_count(desk.db), acc.cash, len(acc.orders), acc.reserved_cash())
    assert after == before


async def test_off_grid_price_is_tick_size(app_db: AsyncEngine) -> None:
    desk = await _desk(app_db)
    await _rejected(desk, limit(Side.BUY, 1, 71_550), "TICK_SIZE")


async def test_price_beyond_the_daily_limit(app_db: AsyncEngine) -> None:
    desk = await _desk(app_db)
    # prev close 71,000: limits 49,700 – 92,300
    await _rejected(desk, limit(Side.BUY, 1, 92_400), "PRICE_LIMIT")
    await _rejected(desk, limit(Side.SELL, 1, 49_600), "PRICE_LIMIT")


async def test_outside_hours_is_market_closed(app_db: AsyncEngine) -> None:
    desk = await _desk(app_db)
    desk.open_market(kst(16, 0))
    await _rejected(desk, limit(Side.BUY, 1, 71_500), "MARKET_CLOSED")
    desk.open_market(kst(8, 0))
    await _rejected(desk, limit(Side.BUY, 1, 71_500), "MARKET_CLOSED")


async def test_over_cash_and_over_position(app_db: AsyncEngine) -> None:
    desk = await _desk(app_db)
    await _rejected(desk, limit(Side.BUY, 140, 71_500), "INSUFFICIENT_CASH")  # 10,010,000
    await _rejected(desk, limit(Side.SELL, 1, 71_500), "INSUFFICIENT_POSITION")
    # a market buy holds cash at the upper limit (92,300): 109 shares do not fit
    await _rejected(desk, market(Side.BUY, 109), "INSUFFICIENT_CASH")


async def test_shares_held_by_an_open_sell_cannot_be_sold_twice(app_db: AsyncEngine) -> None:
    desk = await _desk(app_db)
    acc = await desk.service.account_for(1)
    await desk.service.place(acc, market(Side.BUY, 5))
    await desk.trade(SAMSUNG, 71_500, 100, kst(10, 0, 1))
    await desk.service.place(acc, limit(Side.SELL, 4, 80_000))
    await _rejected(desk, limit(Side.SELL, 2, 80_000), "INSUFFICIENT_POSITION")


async def test_switches_and_limits(app_db: AsyncEngine) -> None:
    desk = await _desk(app_db)
    svc = desk.service
    acc = await svc.account_for(1)
    await svc.set_enabled(acc, False)
    await _rejected(desk, limit(Side.BUY, 1, 71_500), "TRADING_OFF")
    await svc.set_enabled(acc, True)
    await svc.set_state(acc, SafetyState.HALTED, "test")
    await _rejected(desk, limit(Side.BUY, 1, 71_500), "HALTED")
    await svc.set_state(acc, SafetyState.REDUCING, "test")
    await _rejected(desk, limit(Side.BUY, 1, 71_500), "HALTED")
    await svc.set_state(acc, SafetyState.ACTIVE, "test")
    await svc.set_limits(acc, Limits(max_order_value=1_000_000))
    await _rejected(desk, limit(Side.BUY, 14, 71_500), "MAX_ORDER_VALUE")
    await svc.set_limits(acc, Limits(max_position_value=500_000))
    await _rejected(desk, limit(Side.BUY, 7, 71_500), "MAX_POSITION")
    await svc.set_limits(acc, Limits(max_total_position_value=300_000))
    await _rejected(desk, limit(Side.BUY, 5, 71_500), "MAX_POSITION")
    await svc.set_limits(acc, Limits(max_orders_per_minute=2))
    await svc.place(acc, limit(Side.BUY, 1, 70_000, cid="a"))
    await svc.place(acc, limit(Side.BUY, 1, 70_100, cid="b"))
    await _rejected(desk, limit(Side.BUY, 1, 70_200), "ORDER_RATE")


async def test_duplicate_guard_and_reused_client_order_id(app_db: AsyncEngine) -> None:
    # the window is wall time: far wider than any stall between the two orders
    desk = await _desk(app_db, TradingConfig(duplicate_window_us=3_600_000_000))
    acc = await desk.service.account_for(1)
    await desk.service.place(acc, limit(Side.BUY, 1, 70_000))
    await _rejected(desk, limit(Side.BUY, 1, 70_000), "DUPLICATE")
    await desk.service.place(acc, limit(Side.BUY, 1, 70_000, cid="x"))
    await _rejected(desk, limit(Side.BUY, 2, 70_000, cid="x"), "DUPLICATE")


@pytest.mark.parametrize(
    "req",
    [
        OrderRequest(SAMSUNG, Side.BUY, OrderType.LIMIT, 0, 71_500),
        OrderRequest(SAMSUNG, Side.BUY, OrderType.LIMIT, -3, 71_500),
        OrderRequest(SAMSUNG, Side.BUY, OrderType.LIMIT, 1.5, 71_500),  # type: ignore[arg-type]
        OrderRequest("999999", Side.BUY, OrderType.LIMIT, 1, 71_500),
        OrderRequest(SAMSUNG, Side.BUY, OrderType.LIMIT, 1, None),
        OrderRequest(SAMSUNG, Side.BUY, OrderType.MARKET, 1, 71_500),
    ],
    ids=["zero", "negative", "fractional", "unknown-symbol", "limit-no-price", "market-price"],
)
async def test_malformed_orders_are_invalid_requests(
    app_db: AsyncEngine, req: OrderRequest
) -> None:
    desk = await _desk(app_db)
    acc = await desk.service.account_for(1)
    before = await event_count(app_db)
    with pytest.raises(InvalidRequest) as info:
        await desk.service.place(acc, req)
    assert info.value.code == "INVALID_REQUEST"
    assert await event_count(app_db) == before and not acc.orders


async def test_another_users_order_is_not_found(app_db: AsyncEngine) -> None:
    desk = await _desk(app_db)
    mine = await desk.service.account_for(1)
    theirs = await desk.service.account_for(2)
    o, _ = await desk.service.place(theirs, limit(Side.BUY, 1, 70_000))
    with pytest.raises(NotFound):
        await desk.service.cancel(mine, o.order_id)
    assert o.working


async def test_a_market_buy_without_any_reference_price_is_refused(app_db: AsyncEngine) -> None:
    """No previous close and no trade yet (a first listing day before its first print): a
    market buy held 1 won a share, so any quantity passed the cash check and its fill drove
    the cash negative."""
    desk = Desk(app_db)
    desk.service.known_symbol = lambda s: s in (SAMSUNG, "0126Z0")
    await desk.start()
    desk.open_market(kst(8, 45))
    acc = await desk.service.account_for(1)
    before = (await event_count(desk.db), acc.cash, len(acc.orders))
    with pytest.raises(InvalidRequest):
        await desk.service.place(acc, market(Side.BUY, 1_000_000, "0126Z0"))
    assert (await event_count(desk.db), acc.cash, len(acc.orders)) == before
