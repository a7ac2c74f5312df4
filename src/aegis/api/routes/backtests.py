"""Backtests: run one over stored candles, read reports and their equity-curve charts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from aegis.api.deps import CurrentUserDep, RuntimeDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody
from aegis.api.trading_deps import TradingDep
from aegis.api.trading_schemas import BacktestIn, BacktestReport, BacktestSummary
from aegis.core.errors import InvalidRequest, NotFound
from aegis.core.timeutil import parse_instant
from aegis.trading.backtest.runner import (
    equity_png,
    get_report,
    list_reports,
    run_backtest,
    save_report,
)
from aegis.trading.strategies.loader import load

router = APIRouter(prefix="/backtests", tags=["trading"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
}


@router.post(
    "", operation_id="runBacktest", status_code=201, response_model=Envelope[BacktestReport],
    responses=ERRORS,
)  # fmt: skip
async def run(
    body: BacktestIn, user: CurrentUserDep, rt: RuntimeDep, trading: TradingDep
) -> JSONBytes:
    try:
        start, end = parse_instant(body.start), parse_instant(body.end)
    except ValueError as exc:
        raise InvalidRequest(f"from/to: {exc}") from exc
    strategy = load(body.strategy, rt.settings.trading_strategies_dir, **body.params)
    report = await run_backtest(
        rt.store,
        strategy,
        body.symbols,
        body.interval,
        start,
        end,
        cash=body.cash,
        fees=trading.config.fees,
    )
    report["id"] = await save_report(trading.db, report, equity_png(report), user.id)
    return ok(report, "백테스트 완료", status=201)


@router.get(
    "", operation_id="listBacktests", response_model=Envelope[list[BacktestSummary]],
    responses=ERRORS,
)  # fmt: skip
async def list_backtests(user: CurrentUserDep, trading: TradingDep) -> JSONBytes:
    return ok(await list_reports(trading.db, user.id), "백테스트 목록")


async def _own(trading: TradingDep, backtest_id: int, user_id: int) -> tuple[Any, bytes | None]:
    report, png, owner = await get_report(trading.db, backtest_id)
    if owner is not None and owner != user_id:
        raise NotFound(f"no backtest {backtest_id}")
    return report, png


@router.get(
    "/{backtest_id}", operation_id="getBacktest", response_model=Envelope[BacktestReport],
    responses=ERRORS,
)  # fmt: skip
async def get_backtest(backtest_id: int, user: CurrentUserDep, trading: TradingDep) -> JSONBytes:
    report, _ = await _own(trading, backtest_id, user.id)
    return ok(report, "백테스트 결과")


@router.get(
    "/{backtest_id}/equity.png",
    operation_id="getBacktestChart",
    responses={**ERRORS, 200: {"content": {"image/png": {}}}},
)
async def get_chart(backtest_id: int, user: CurrentUserDep, trading: TradingDep) -> Response:
    report, png = await _own(trading, backtest_id, user.id)
    if png is None:
        png = equity_png(report)
    return Response(png, media_type="image/png")
