"""Market indices, industries (Naver/WICS) and rankings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aegis.api.candles_query import _instant
from aegis.api.deps import MarketDep, ResearchDep, RuntimeDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import ERROR_RESPONSES, Envelope
from aegis.api.schemas_research import IndexOut, IndustryOut, RankedCompany
from aegis.core.errors import InvalidRequest, NotFound
from aegis.core.timeutil import iso_z
from aegis.domain.intervals import parse_interval
from aegis.reference.indices import INDEX_NAMES
from aegis.research.industries import market_filter, rank_key, rank_stocks

router = APIRouter(tags=["industries"])
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get(
    "/indices/{name}",
    operation_id="getIndex",
    response_model=Envelope[IndexOut],
    responses=ERROR_RESPONSES,
)
async def get_index(
    rt: RuntimeDep,
    market: MarketDep,
    name: str,
    interval: str = "1d",
    start: str | None = None,
    end: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 500,
) -> JSONBytes:
    """KOSPI or KOSDAQ: history at any interval plus today's live value (``source`` says sim or
    the broker; the daily history before the live day is KRX's)."""
    symbol = name.upper()
    if symbol not in INDEX_NAMES:
        raise NotFound(f"unknown index {name!r}: use kospi or kosdaq")
    iv = parse_interval(interval)
    if limit > rt.settings.api_max_limit:
        raise InvalidRequest(f"limit must be between 1 and {rt.settings.api_max_limit}")
    lo, hi = _instant("start", start), _instant("end", end)
    inst = market.instrument(symbol)
    rows = await market.candles(symbol, iv, lo, hi, limit)
    q = market.quote(symbol)
    pv = inst.price_value
    data = {
        "symbol": symbol,
        "name": INDEX_NAMES[symbol],
        "interval": iv.name,
        "price": pv(q.price) if q else (pv(rows[-1].close) if rows else None),
        "change": pv(q.change) if q and q.change is not None else None,
        "changePercent": q.change_percent if q else None,
        "asOf": iso_z(q.last_ts) if q else None,
        "source": market.last_source.get(symbol, "store"),
        "candles": [
            {
                "time": c.start // 1_000_000,
                "open": pv(c.open),
                "high": pv(c.high),
                "low": pv(c.low),
                "close": pv(c.close),
                "volume": inst.qty_value(c.volume),
                "amount": inst.amount_value(c.amount),
            }
            for c in rows
        ],
    }
    return ok(data, "지수 데이터를 조회하였습니다.")


@router.get(
    "/industries",
    operation_id="listIndustries",
    response_model=Envelope[list[IndustryOut]],
    responses=ERROR_RESPONSES,
)
async def list_industries(research: ResearchDep) -> JSONBytes:
    return ok(research.industries.summaries(), "산업 목록을 조회하였습니다.")


@router.get(
    "/industries/{industry_id}",
    operation_id="getIndustry",
    response_model=Envelope[IndustryOut],
    responses=ERROR_RESPONSES,
)
async def get_industry(research: ResearchDep, industry_id: int) -> JSONBytes:
    ind = research.industries.get(industry_id)
    return ok(research.industries.summary(ind), "산업 정보를 조회하였습니다.")


@router.get(
    "/rankings/companies",
    operation_id="rankCompanies",
    response_model=Envelope[list[RankedCompany]],
    responses=ERROR_RESPONSES,
)
async def rank_companies(
    market: MarketDep,
    research: ResearchDep,
    by: str = "marketCap",
    market_name: Annotated[str | None, Query(alias="market")] = None,
    limit: Limit = 50,
) -> JSONBytes:
    """by = marketCap | change | volume | amount; market = ALL | KOSPI | KOSDAQ | KONEX."""
    rows = rank_stocks(
        market,
        market.by_symbol.values(),
        rank_key(by),
        market_filter(market_name),
        limit,
        research.industries,
    )
    return ok(rows, "기업 순위를 조회하였습니다.")


@router.get(
    "/rankings/industries",
    operation_id="rankIndustries",
    response_model=Envelope[list[IndustryOut]],
    responses=ERROR_RESPONSES,
)
async def rank_industries(research: ResearchDep, by: str = "marketCap") -> JSONBytes:
    """by = marketCap | change | memberCount."""
    keys = {"marketCap": "marketCap", "change": "changePercent", "memberCount": "memberCount"}
    if by not in keys:
        raise InvalidRequest(f"by must be one of {', '.join(keys)}", details={"by": by})
    rows = research.industries.summaries()
    key = keys[by]
    rows = [r for r in rows if r[key] is not None]
    rows.sort(key=lambda r: -float(r[key]))  # type: ignore[arg-type]
    return ok([{"rank": n, **r} for n, r in enumerate(rows, 1)], "산업 순위를 조회하였습니다.")


@router.get(
    "/rankings/industries/{industry_id}/companies",
    operation_id="rankIndustryCompanies",
    response_model=Envelope[list[RankedCompany]],
    responses=ERROR_RESPONSES,
)
async def rank_industry_companies(
    market: MarketDep,
    research: ResearchDep,
    industry_id: int,
    by: str = "marketCap",
    limit: Limit = 100,
) -> JSONBytes:
    ind = research.industries.get(industry_id)
    rows = rank_stocks(
        market,
        (market.by_symbol[s] for s in ind.symbols),
        rank_key(by),
        None,
        limit,
        research.industries,
    )
    return ok(rows, f"{ind.name} 산업 내 기업 순위를 조회하였습니다.")
