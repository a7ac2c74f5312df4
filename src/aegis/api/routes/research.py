"""Company research: financial statements, DART disclosures, valuation history."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from aegis.api.deps import MarketDep, ResearchDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import ERROR_RESPONSES, Envelope
from aegis.api.schemas_research import Financials, Reports, Valuation
from aegis.core.errors import InvalidRequest
from aegis.research import valuation
from aegis.research.datasets import SRC_VALUATION

router = APIRouter(prefix="/companies", tags=["research"])


@router.get(
    "/{company_id}/financials",
    operation_id="getCompanyFinancials",
    response_model=Envelope[Financials],
    responses=ERROR_RESPONSES,
)
async def get_financials(
    market: MarketDep,
    research: ResearchDep,
    company_id: int,
    period: Literal["annual", "quarterly"] = "annual",
    basis: Annotated[
        Literal["CFS", "OFS"] | None,
        Query(description="CFS 연결 (default where it exists) or OFS 별도"),
    ] = None,
) -> JSONBytes:
    inst = market.company(company_id)
    data = await research.financials(inst.symbol, period, basis)
    data = {"companyId": company_id, "code": inst.symbol, **data, "dart": research.dart.as_dict()}
    return ok(data, "재무 정보를 조회하였습니다.")


@router.get(
    "/{company_id}/reports",
    operation_id="getCompanyReports",
    response_model=Envelope[Reports],
    responses=ERROR_RESPONSES,
)
async def get_reports(
    market: MarketDep,
    research: ResearchDep,
    company_id: int,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    # bounded like the news pages: a larger one reached SQL and overflowed (500)
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> JSONBytes:
    inst = market.company(company_id)
    rows, total = await research.reports(inst.symbol, limit, offset)
    data = {
        "companyId": company_id,
        "code": inst.symbol,
        "total": total,
        "reports": rows,
        "dart": research.dart.as_dict(),
    }
    return ok(data, "공시 목록을 조회하였습니다.")


def _day(name: str, text: str | None) -> str | None:
    if text is None or text == "":
        return None
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise InvalidRequest(f"{name}={text!r} is not a date (YYYY-MM-DD)") from exc


@router.get(
    "/{company_id}/valuation",
    operation_id="getCompanyValuation",
    response_model=Envelope[Valuation],
    responses=ERROR_RESPONSES,
)
async def get_valuation(
    market: MarketDep,
    research: ResearchDep,
    company_id: int,
    start: str | None = None,
    end: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 260,
) -> JSONBytes:
    """Daily PER, PBR, dividend yield (%) and market cap (KRW): the newest ``limit`` trading
    days (260 ≈ one year) within start/end (KST dates)."""
    inst = market.company(company_id)
    lo, hi = _day("start", start), _day("end", end)
    if lo and hi and lo > hi:
        raise InvalidRequest("start must not be after end")
    rows = await research.valuation(inst.symbol, lo, hi, limit)
    data = {
        "companyId": company_id,
        "code": inst.symbol,
        "source": SRC_VALUATION,
        "description": valuation.DESCRIPTION,
        "rows": rows,
        "reason": None if rows else "이 기업(또는 기간)의 밸류에이션 데이터가 없습니다.",
    }
    return ok(data, "밸류에이션 이력을 조회하였습니다.")
