"""Price alerts and the Telegram opt-in of the caller."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field, FiniteFloat

from aegis.api.deps import CurrentUserDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody, Wire
from aegis.api.trading_deps import TradingDep
from aegis.core.errors import StreamUnavailable
from aegis.trading.alerts import AlertBook
from aegis.trading.notify import get_telegram, set_telegram
from aegis.trading.service import TradingService

router = APIRouter(tags=["trading"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
}
AlertKind = Literal[
    "ABOVE", "BELOW", "CHANGE_PCT", "RSI_BELOW", "RSI_ABOVE", "GOLDEN_CROSS", "DEAD_CROSS"
]


class AlertIn(Wire):
    symbol: str = Field(min_length=1, max_length=12, examples=["005930"])
    kind: AlertKind = Field(examples=["ABOVE"])
    value: FiniteFloat = Field(  # NaN/Infinity parse from JSON bodies; no alert can use them
        default=0,
        examples=[75_000],
        description="price (ABOVE/BELOW), % (CHANGE_PCT, e.g. -3), RSI level; crosses: unused",
    )


class AlertOut(Wire):
    alert_id: int
    symbol: str
    kind: AlertKind
    value: float
    active: bool
    created_at: str
    triggered_at: str | None
    triggered_price: int | None


class TelegramIn(Wire):
    chat_id: str = Field(min_length=1, max_length=64, examples=["123456789"])
    enabled: bool = True


class TelegramOut(Wire):
    chat_id: str | None
    enabled: bool


def _alerts(trading: TradingService) -> AlertBook:
    if trading.alerts is None:
        raise StreamUnavailable("alerts are not running")
    return trading.alerts


@router.get(
    "/alerts", operation_id="listAlerts", response_model=Envelope[list[AlertOut]],
    responses=ERRORS,
)  # fmt: skip
async def list_alerts(user: CurrentUserDep, trading: TradingDep) -> JSONBytes:
    return ok([a.view() for a in await _alerts(trading).of_user(user.id)], "알림 목록")


@router.post(
    "/alerts", operation_id="createAlert", status_code=201, response_model=Envelope[AlertOut],
    responses=ERRORS,
)  # fmt: skip
async def create_alert(body: AlertIn, user: CurrentUserDep, trading: TradingDep) -> JSONBytes:
    a = await _alerts(trading).create(user.id, body.symbol, body.kind, body.value)
    return ok(a.view(), "알림을 등록했습니다.", status=201)


@router.delete(
    "/alerts/{alert_id}", operation_id="deleteAlert", response_model=Envelope[dict[str, bool]],
    responses=ERRORS,
)  # fmt: skip
async def delete_alert(alert_id: int, user: CurrentUserDep, trading: TradingDep) -> JSONBytes:
    await _alerts(trading).delete(user.id, alert_id)
    return ok({"deleted": True}, "알림을 삭제했습니다.")


@router.get(
    "/notifications/telegram", operation_id="getTelegram", response_model=Envelope[TelegramOut],
    responses=ERRORS,
)  # fmt: skip
async def telegram(user: CurrentUserDep, trading: TradingDep) -> JSONBytes:
    return ok(await get_telegram(trading.db, user.id), "텔레그램 알림 설정")


@router.put(
    "/notifications/telegram", operation_id="setTelegram", response_model=Envelope[TelegramOut],
    responses=ERRORS,
)  # fmt: skip
async def put_telegram(body: TelegramIn, user: CurrentUserDep, trading: TradingDep) -> JSONBytes:
    """Fills, safety triggers and price alerts go to this chat (needs AEGIS_TELEGRAM_BOT_TOKEN
    on the server)."""
    await set_telegram(trading.db, user.id, body.chat_id, body.enabled)
    return ok(await get_telegram(trading.db, user.id), "텔레그램 알림을 저장했습니다.")
