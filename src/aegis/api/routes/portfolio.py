"""The caller's portfolio, marked to the live price; paper accounts can be reset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody
from aegis.api.trading_deps import AccountDep, TradingDep
from aegis.api.trading_schemas import PortfolioOut, PositionOut, ResetIn
from aegis.core.errors import NotFound
from aegis.trading.views import position_view

router = APIRouter(prefix="/portfolio", tags=["trading"])
ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorBody}}


@router.get(
    "", operation_id="getPortfolio", response_model=Envelope[PortfolioOut], responses=ERRORS
)
async def get_portfolio(acc: AccountDep, trading: TradingDep) -> JSONBytes:
    return ok(trading.portfolio(acc), "포트폴리오")


@router.get(
    "/{code}",
    operation_id="getPosition",
    response_model=Envelope[PositionOut],
    responses={**ERRORS, 404: {"model": ErrorBody}},
)
async def get_position(code: str, acc: AccountDep, trading: TradingDep) -> JSONBytes:
    view = position_view(acc, code, trading.prices)
    if view is None:
        raise NotFound(f"no position in {code}")
    return ok(view, "보유 종목")


@router.post(
    "/reset",
    operation_id="resetPaperAccount",
    response_model=Envelope[PortfolioOut],
    responses={**ERRORS, 400: {"model": ErrorBody}},
)
async def reset(acc: AccountDep, trading: TradingDep, body: ResetIn | None = None) -> JSONBytes:
    """Paper accounts only: open orders cancelled, positions cleared, fresh cash (default
    AEGIS_TRADING_PAPER_CASH)."""
    await trading.reset(acc, body.cash if body else None)
    return ok(trading.portfolio(acc), "모의투자 계좌를 초기화하였습니다.")
