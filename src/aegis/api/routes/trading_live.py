"""An administrator's live KIS account: connect (keys tested against KIS, stored encrypted),
see its status, disconnect. Keys and the account number are never returned."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from aegis.api.deps import AdminUserDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody, Wire
from aegis.api.trading_deps import TradingDep
from aegis.core.errors import StreamUnavailable
from aegis.trading.connect import LiveConnections, LiveKeys
from aegis.trading.service import TradingService

router = APIRouter(prefix="/system/trading/live", tags=["trading"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    502: {"model": ErrorBody},
}


class LiveConnectIn(Wire):
    app_key: str = Field(min_length=1, max_length=200, examples=["PSxxxxxxxxxxxxxxxx"])
    app_secret: str = Field(min_length=1, max_length=400)
    account_number: str = Field(
        min_length=1, max_length=20, examples=["50123456-01"], description="CANO-ACNT_PRDT_CD"
    )
    hts_id: str = Field(min_length=1, max_length=40, description="HTS id (fill notices)")
    mode: Literal["paper", "real"] = Field(
        default="paper", description="paper: 모의투자 host (openapivts); real: the real host"
    )


class LiveStatusOut(Wire):
    stored: bool = Field(description="keys are stored (encrypted)")
    connected: bool = Field(description="the account is live now")
    mode: Literal["paper", "real"] | None = None
    account: str | None = Field(default=None, examples=["5012****-01"], description="masked")
    connected_at: int | None = Field(default=None, description="UTC µs of the connection")
    notice_stream: bool | None = None
    last_reconcile: dict[str, Any] | None = None
    error: str | None = Field(default=None, description="why a stored account is not live")


def _live(trading: TradingService) -> LiveConnections:
    if trading.live is None:
        raise StreamUnavailable("live trading is not running")
    return trading.live


@router.get(
    "", operation_id="liveAccountStatus", response_model=Envelope[LiveStatusOut], responses=ERRORS
)
async def live_status(user: AdminUserDep, trading: TradingDep) -> JSONBytes:
    return ok(await _live(trading).status(user.id), "실계좌 연결 상태")


@router.post(
    "",
    operation_id="connectLiveAccount",
    response_model=Envelope[LiveStatusOut],
    responses=ERRORS,
    summary="Connect a live KIS account (administrators)",
)
async def connect_live(body: LiveConnectIn, user: AdminUserDep, trading: TradingDep) -> JSONBytes:
    """Tests the keys (a KIS access token, then the account's balance) before storing them
    encrypted. Bad key → 400 `BROKER_KEY_REJECTED`; KIS unreachable → 502
    `BROKER_UNREACHABLE`; in both cases nothing is stored or changed."""
    keys = LiveKeys.parse(
        body.app_key, body.app_secret, body.account_number, body.hts_id, body.mode
    )
    return ok(await _live(trading).connect(user.id, keys), "실계좌를 연결했습니다.")


@router.delete(
    "", operation_id="disconnectLiveAccount", response_model=Envelope[LiveStatusOut],
    responses=ERRORS,
)  # fmt: skip
async def disconnect_live(user: AdminUserDep, trading: TradingDep) -> JSONBytes:
    """Stops live trading and deletes the stored keys; the account's history stays."""
    return ok(await _live(trading).disconnect(user.id), "실계좌 연결을 해제했습니다.")
