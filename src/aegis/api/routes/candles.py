"""Candles by instrument code (stocks, indices, crypto pairs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aegis.api.candles_query import EndQuery, IntervalQuery, StartQuery, candles_response
from aegis.api.deps import MarketDep, RuntimeDep
from aegis.api.envelope import JSONBytes
from aegis.api.schemas import ERROR_RESPONSES, CandleEnvelope

router = APIRouter(tags=["candles"])


@router.get(
    "/candles/{code}",
    operation_id="getCandles",
    response_model=CandleEnvelope,
    responses=ERROR_RESPONSES,
)
async def get_candles(
    rt: RuntimeDep,
    market: MarketDep,
    code: str,
    interval: IntervalQuery = "1m",
    start: StartQuery = None,
    end: EndQuery = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> JSONBytes:
    return await candles_response(
        market, code, interval, start, end, limit, rt.settings.api_max_limit
    )
