"""Orders: place, list, look up, cancel (the caller's own account only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody
from aegis.api.trading_deps import AccountDep, TradingDep
from aegis.api.trading_schemas import OrderIn, OrderOut
from aegis.trading.models import OrderRequest, OrderType, Side
from aegis.trading.views import order_view

router = APIRouter(prefix="/orders", tags=["trading"])

_E = {"model": ErrorBody}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        **_E,
        "description": "ORDER_REJECTED with details.reason (TICK_SIZE, PRICE_LIMIT, "
        "INSUFFICIENT_CASH, INSUFFICIENT_POSITION, MARKET_CLOSED, TRADING_OFF, HALTED, "
        "MAX_POSITION, MAX_ORDER_VALUE, ORDER_RATE, DUPLICATE) or INVALID_REQUEST",
    },
    401: {**_E, "description": "login required"},
}


@router.post(
    "",
    operation_id="placeOrder",
    status_code=201,
    response_model=Envelope[OrderOut],
    responses={**ERRORS, 200: {"description": "a retry with a known clientOrderId"}},
)
async def place_order(body: OrderIn, acc: AccountDep, trading: TradingDep) -> JSONBytes:
    """Validate, store, send. 201 with the order; a retry with the same clientOrderId returns
    the first order (200) and sends nothing."""
    order, created = await trading.place(
        acc,
        OrderRequest(
            body.symbol,
            Side(body.side),
            OrderType(body.type),
            body.quantity,
            body.price,
            body.client_order_id,
        ),
    )
    if created:
        return ok(order_view(order), "주문이 접수되었습니다.", status=201)
    return ok(order_view(order), "이미 접수된 주문입니다.")


@router.get(
    "", operation_id="listOrders", response_model=Envelope[list[OrderOut]], responses=ERRORS
)
async def list_orders(
    acc: AccountDep,
    trading: TradingDep,
    status: Annotated[
        str | None, Query(description="a status, or OPEN for every working order")
    ] = None,
    symbol: str | None = None,
) -> JSONBytes:
    return ok([order_view(o) for o in trading.orders(acc, status, symbol)], "주문 목록")


@router.get(
    "/{order_id}", operation_id="getOrder", response_model=Envelope[OrderOut], responses=ERRORS
)
async def get_order(order_id: str, acc: AccountDep, trading: TradingDep) -> JSONBytes:
    return ok(order_view(trading.order(acc, order_id)), "주문 조회")


@router.delete(
    "/{order_id}",
    operation_id="cancelOrder",
    response_model=Envelope[OrderOut],
    responses={**ERRORS, 409: {**_E, "description": "ORDER_STATE: not open"}},
)
async def cancel_order(order_id: str, acc: AccountDep, trading: TradingDep) -> JSONBytes:
    return ok(order_view(await trading.cancel(acc, order_id)), "주문이 취소되었습니다.")
