"""The trade log: the caller's fills, filtered and paginated by the database."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody
from aegis.api.trading_deps import AccountDep, TradingDep
from aegis.api.trading_schemas import TradeOut, TradePage
from aegis.core.errors import InvalidRequest
from aegis.core.timeutil import parse_instant
from aegis.trading.tradelog import MAX_PAGE_SIZE, TradeQuery

router = APIRouter(prefix="/trades", tags=["trading"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
}


def _instant(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise InvalidRequest(f"{name}: not a date/time: {text!r}") from exc


@router.get("", operation_id="listTrades", response_model=TradePage, responses=ERRORS)
async def list_trades(
    acc: AccountDep,
    trading: TradingDep,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=MAX_PAGE_SIZE)] = 50,
    symbol: str | None = None,
    side: Literal["BUY", "SELL"] | None = None,
    start: Annotated[str | None, Query(description="ISO 8601, epoch s or YYYY-MM-DD (KST)")] = None,
    end: Annotated[str | None, Query(description="exclusive")] = None,
) -> JSONBytes:
    q = TradeQuery(page, page_size, symbol, side, _instant(start, "start"), _instant(end, "end"))
    rows, total = await trading.trades(acc, q)
    pages = (total + page_size - 1) // page_size
    meta = {"total": total, "page": page, "pageSize": page_size, "totalPages": pages}
    return ok(rows, "체결 내역", meta)


@router.get(
    "/today", operation_id="todayTrades", response_model=Envelope[list[TradeOut]], responses=ERRORS
)
async def today_trades(acc: AccountDep, trading: TradingDep) -> JSONBytes:
    """Today's fills (KST trading day of the market clock; real time for the live account)."""
    return ok(await trading.today_trades(acc), "오늘의 체결")
