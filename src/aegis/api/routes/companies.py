"""Company search, profiles and their candles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aegis.api.candles_query import EndQuery, IntervalQuery, StartQuery, candles_response
from aegis.api.deps import MarketDep, ResearchDep, RuntimeDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import (
    ERROR_RESPONSES,
    CandleEnvelope,
    CompanySummary,
    Envelope,
)
from aegis.api.schemas_research import CompanyProfile
from aegis.domain.instruments import Instrument
from aegis.domain.sources import IMPORT
from aegis.services.market import Market

router = APIRouter(prefix="/companies", tags=["companies"])


def summary(i: Instrument) -> dict[str, object]:
    return {
        "companyId": i.company_id,
        "code": i.symbol,
        "name": i.name,
        "nameEn": i.name_en,
        "market": i.market,
        "industry": i.industry,
        "kind": i.kind,
    }


def profile(i: Instrument, market: Market) -> dict[str, object]:
    q = market.quote(i.symbol)
    cap = (
        q.market_cap
        if q
        else (i.shares * i.prev_close if i.shares and i.prev_close and i.kind == "stock" else None)
    )
    prev = q.prev_close if q is not None else i.prev_close
    return {
        **summary(i),
        "products": i.products,
        "listingDate": i.listing_date,
        "shares": i.shares,
        "marketCap": cap,
        "priceScale": i.price_scale,
        # the close before the trading day being quoted; the listing's close without a quote
        "prevClose": None if prev is None else i.price_value(prev),
        # where prevClose and marketCap come from: the quoted day's candle, else the shipped
        # real listing
        "source": q.source if q is not None else IMPORT,
    }


@router.get(
    "",
    operation_id="searchCompanies",
    response_model=Envelope[list[CompanySummary]],
    responses=ERROR_RESPONSES,
)
async def search_companies(
    market: MarketDep,
    keyword: Annotated[
        str, Query(min_length=1, max_length=50, description="code, Korean/English name or 초성")
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONBytes:
    found = market.search(keyword, limit)
    return ok([summary(i) for i in found], "기업 검색을 완료하였습니다.")


@router.get(
    "/{company_id}",
    operation_id="getCompany",
    response_model=Envelope[CompanyProfile],
    responses=ERROR_RESPONSES,
)
async def get_company(market: MarketDep, research: ResearchDep, company_id: int) -> JSONBytes:
    inst = market.company(company_id)
    data = {
        **profile(inst, market),
        **research.profile_fields(inst),
        **await research.dart_profile(inst.symbol),
    }
    return ok(data, "기업 정보를 조회하였습니다.")


@router.get(
    "/{company_id}/ohlcv",
    operation_id="getCompanyOhlcv",
    response_model=CandleEnvelope,
    responses=ERROR_RESPONSES,
)
async def get_company_ohlcv(
    rt: RuntimeDep,
    market: MarketDep,
    company_id: int,
    interval: IntervalQuery = "1d",
    start: StartQuery = None,
    end: EndQuery = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> JSONBytes:
    inst = market.company(company_id)
    return await candles_response(
        market, inst.symbol, interval, start, end, limit, rt.settings.api_max_limit
    )
