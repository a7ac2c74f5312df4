"""The safety system's switches for the caller's account (paper, or ``?account=live`` for an
administrator); ``?all=true`` lets an administrator act on every account at once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aegis.api.deps import CurrentUserDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody
from aegis.api.trading_deps import AccountDep, TradingDep
from aegis.api.trading_schemas import LimitsIn, StateIn, TradingStatusOut
from aegis.core.errors import Forbidden
from aegis.trading.book import Account
from aegis.trading.models import Limits, SafetyState

router = APIRouter(prefix="/system/trading", tags=["trading"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
}
AllFlag = Annotated[bool, Query(alias="all", description="administrators: every account")]


def _targets(acc: Account, trading: TradingDep, user: CurrentUserDep, every: bool) -> list[Account]:
    if not every:
        return [acc]
    if not user.is_admin:
        raise Forbidden("acting on all accounts is for administrators")
    return list(trading.all_accounts())


@router.get(
    "", operation_id="tradingStatus", response_model=Envelope[TradingStatusOut], responses=ERRORS
)
async def trading_status(acc: AccountDep, trading: TradingDep) -> JSONBytes:
    return ok(trading.status(acc), "매매 상태")


async def _switch(
    enabled: bool, acc: Account, trading: TradingDep, user: CurrentUserDep, every: bool
) -> JSONBytes:
    for a in _targets(acc, trading, user, every):
        await trading.set_enabled(a, enabled, user.username)
    return ok(trading.status(acc), "자동매매를 켰습니다." if enabled else "자동매매를 껐습니다.")


@router.post(
    "/on", operation_id="tradingOn", response_model=Envelope[TradingStatusOut], responses=ERRORS
)
async def trading_on(
    acc: AccountDep, trading: TradingDep, user: CurrentUserDep, every: AllFlag = False
) -> JSONBytes:
    return await _switch(True, acc, trading, user, every)


@router.post(
    "/off", operation_id="tradingOff", response_model=Envelope[TradingStatusOut], responses=ERRORS
)
async def trading_off(
    acc: AccountDep, trading: TradingDep, user: CurrentUserDep, every: AllFlag = False
) -> JSONBytes:
    return await _switch(False, acc, trading, user, every)


@router.post(
    "/kill", operation_id="killSwitch", response_model=Envelope[TradingStatusOut], responses=ERRORS
)
async def kill(
    acc: AccountDep, trading: TradingDep, user: CurrentUserDep, every: AllFlag = False
) -> JSONBytes:
    """Cancel every open order and switch trading off."""
    failed: list[str] = []
    for a in _targets(acc, trading, user, every):
        failed += await trading.kill(a, user.username)
    msg = "긴급 정지: 미체결 주문을 모두 취소하고 매매를 껐습니다."
    if failed:
        msg += f" 취소 실패 {len(failed)}건"
    return ok(trading.status(acc), msg)


@router.post(
    "/state", operation_id="setTradingState", response_model=Envelope[TradingStatusOut],
    responses=ERRORS,
)  # fmt: skip
async def set_state(body: StateIn, acc: AccountDep, trading: TradingDep) -> JSONBytes:
    """ACTIVE, REDUCING (only orders that shrink positions) or HALTED."""
    await trading.set_state(acc, SafetyState(body.state), body.reason)
    return ok(trading.status(acc), "상태를 바꿨습니다.")


@router.put(
    "/limits", operation_id="setTradingLimits", response_model=Envelope[TradingStatusOut],
    responses=ERRORS,
)  # fmt: skip
async def set_limits(body: LimitsIn, acc: AccountDep, trading: TradingDep) -> JSONBytes:
    await trading.set_limits(
        acc,
        Limits(
            body.max_position_value,
            body.max_total_position_value,
            body.max_order_value,
            body.max_orders_per_minute,
            body.max_daily_loss,
        ),
    )
    return ok(trading.status(acc), "한도를 저장했습니다.")
