"""Last prices."""

from __future__ import annotations

from fastapi import APIRouter

from aegis.api.deps import MarketDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import ERROR_RESPONSES, Envelope, QuoteOut
from aegis.core.errors import InvalidRequest
from aegis.services.market import quote_row

router = APIRouter(tags=["quotes"])
MAX_SYMBOLS = 500


@router.get(
    "/quotes",
    operation_id="getQuotes",
    response_model=Envelope[list[QuoteOut]],
    responses=ERROR_RESPONSES,
)
async def get_quotes(market: MarketDep, symbols: str | None = None) -> JSONBytes:
    """Comma-separated symbols; omit for every instrument that has a price."""
    if symbols is None:
        quotes = market.quotes()
    else:
        wanted = [s.strip() for s in symbols.split(",") if s.strip()]
        if not wanted:
            raise InvalidRequest("symbols is empty")
        if len(wanted) > MAX_SYMBOLS:
            raise InvalidRequest(f"at most {MAX_SYMBOLS} symbols per request")
        # 404 for an unknown one; each instrument once, however often or spelled it is asked
        quotes = market.quotes(dict.fromkeys(market.instrument(s).symbol for s in wanted))
    return ok([quote_row(q) for q in quotes], "시세를 조회하였습니다.")
