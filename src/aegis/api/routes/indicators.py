"""Technical indicators over the candles ``/ohlcv`` answers for the same query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ConfigDict

from aegis.api.candles_query import candle_rows, parse_query
from aegis.api.deps import MarketDep, RuntimeDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import ERROR_RESPONSES, Envelope, Wire
from aegis.research.indicators import compute, parse_names, valid_names
from aegis.research.indicators.catalog import KINDS
from aegis.research.indicators.compute import Bars

router = APIRouter(prefix="/companies", tags=["indicators"])


class IndicatorRow(Wire):
    """``time`` plus one key per requested column; ``null`` during TA-Lib's warm-up."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "time": 1774483200,
                "sma_20": 201450.0,
                "rsi_14": 55.3,
                "macd_12_26_9.macd": 1520.4,
                "macd_12_26_9.signal": 1210.9,
                "macd_12_26_9.hist": 309.5,
            }
        },
    )
    time: int


class IndicatorMeta(Wire):
    symbol: str
    interval: str
    columns: list[str]
    candles: int


class IndicatorEnvelope(Envelope[list[IndicatorRow]]):
    meta: IndicatorMeta


NAMES_HELP = (
    "comma-separated: "
    + ", ".join(f"{k.example} ({k.description})" for k in KINDS.values())
    + "; multi-output columns are <name>.<part>"
)


@router.get(
    "/{company_id}/indicators",
    operation_id="getCompanyIndicators",
    response_model=IndicatorEnvelope,
    responses=ERROR_RESPONSES,
)
async def get_company_indicators(
    rt: RuntimeDep,
    market: MarketDep,
    company_id: int,
    names: Annotated[str | None, Query(description=NAMES_HELP, max_length=400)] = None,
    interval: str = "1d",
    start: str | None = None,
    end: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> JSONBytes:
    inst = market.company(company_id)
    specs = parse_names(names)
    iv, lo, hi, n = parse_query(interval, start, end, limit, rt.settings.api_max_limit)
    rows = await candle_rows(market, inst.symbol, iv, lo, hi, n)
    bars = Bars.from_rows(rows, intraday=iv.unit == "m" and iv.minutes < 1440)
    data = compute(specs, bars)
    columns = [c for s in specs for c in s.columns]
    meta = {"symbol": inst.symbol, "interval": iv.name, "columns": columns, "candles": len(rows)}
    return ok(data, "기술적 지표를 계산하였습니다.", meta)


__all__ = ["router", "valid_names"]
