"""Strategies: the ones available (built-in and from the strategies folder), and running one
on the caller's paper account (or ``?account=live`` for an administrator). A started run is
stored and resumed after a restart until it is stopped."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, FiniteFloat

from aegis.api.deps import CurrentUserDep, RuntimeDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody, Wire
from aegis.api.trading_deps import AccountDep, TradingDep
from aegis.trading.runs import StrategyRuns
from aegis.trading.strategies.loader import available

router = APIRouter(prefix="/strategies", tags=["trading"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
}


class StrategyOut(Wire):
    name: str = Field(examples=["ma_cross"])
    defaults: dict[str, object]
    description: str


class RunIn(Wire):
    strategy: str = Field(examples=["ma_cross"])
    symbols: list[str] = Field(min_length=1, max_length=20, examples=[["005930"]])
    interval: str = Field(default="1m", examples=["1m"])
    params: dict[str, FiniteFloat | int | str] = Field(default_factory=dict)


class RunOut(Wire):
    runner_id: int
    strategy: str
    params: dict[str, object]
    symbols: list[str]
    interval: str
    orders: int
    refusals: list[str]
    resumed: bool = Field(description="started again after a restart of the server")


@router.get("", operation_id="listStrategies", response_model=Envelope[list[StrategyOut]])
async def list_strategies(user: CurrentUserDep, rt: RuntimeDep) -> JSONBytes:
    rows = [
        {"name": n, "defaults": c.defaults, "description": (c.__doc__ or "").strip()}
        for n, c in sorted(available(rt.settings.trading_strategies_dir).items())
    ]
    return ok(rows, "전략 목록")


@router.get("/runs", operation_id="listRuns", response_model=Envelope[list[RunOut]])
async def list_runs(acc: AccountDep, trading: TradingDep) -> JSONBytes:
    rows = [r.view() for r in trading.runners.values() if r.account is acc]
    return ok(rows, "실행 중인 전략")


@router.post(
    "/runs", operation_id="startRun", status_code=201, response_model=Envelope[RunOut],
    responses=ERRORS,
)  # fmt: skip
async def start_run(body: RunIn, acc: AccountDep, trading: TradingDep, rt: RuntimeDep) -> JSONBytes:
    runs = StrategyRuns(trading, rt.settings.trading_strategies_dir)
    runner = await runs.start(acc, body.strategy, body.symbols, body.interval, body.params)
    return ok(runner.view(), "전략을 시작했습니다.", status=201)


@router.delete(
    "/runs/{runner_id}", operation_id="stopRun", response_model=Envelope[RunOut], responses=ERRORS
)
async def stop_run(
    runner_id: int, acc: AccountDep, trading: TradingDep, rt: RuntimeDep
) -> JSONBytes:
    runner = await StrategyRuns(trading, rt.settings.trading_strategies_dir).stop(acc, runner_id)
    return ok(runner.view(), "전략을 멈췄습니다.")
