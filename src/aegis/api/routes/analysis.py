"""AI outlook: companies, industries, today's picks, recent reports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict

from aegis.api.deps import AnalysisDep, MarketDep, ResearchDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import ERROR_RESPONSES, Envelope, Wire
from aegis.core.errors import InvalidRequest
from aegis.domain.instruments import Instrument
from aegis.research.analysis.service import Subject
from aegis.services.market import Market

router = APIRouter(tags=["analysis"])
INDUSTRY_MEMBERS = 10  # the largest members an industry outlook is built from
PICK_UNIVERSE = 30


class AnalysisComponent(Wire):
    name: str
    label: str
    score: float
    weight: float
    value: float
    detail: str


class Fallback(Wire):
    provider: str
    model: str
    reason: str


class Analysis(Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "subject": {"type": "company", "companyId": 1, "code": "005930",
                            "name": "삼성전자"},
                "day": "2026-12-02",
                "provider": "quant",
                "model": "aegis-quant-1",
                "growthScore": 64,
                "outlook": "긍정",
                "rationale": "삼성전자의 성장 점수는 64점으로 전망은 '긍정'입니다. …",
                "fallback": None,
            }
        }
    )  # fmt: skip
    subject: dict[str, object]
    day: str
    provider: Literal["quant", "openai", "gemini"]
    model: str
    growth_score: int
    outlook: Literal["긍정", "중립", "부정"]
    rationale: str
    components: list[AnalysisComponent]
    inputs: dict[str, object]
    quant: dict[str, object]
    fallback: Fallback | None
    generated_at: str
    cached: bool
    disclaimer: str
    members: list[dict[str, object]] | None = None


class Pick(Wire):
    subject: dict[str, object]
    growth_score: int
    outlook: str
    reasons: list[str]
    inputs: dict[str, object]


class Picks(Wire):
    day: str
    provider: str
    model: str
    universe: int
    picks: list[Pick]
    method: str
    disclaimer: str


class AnalysisReport(Wire):
    subject: dict[str, object]
    day: str
    provider: str
    model: str
    growth_score: int
    outlook: str
    rationale: str
    fallback: Fallback | None
    generated_at: str


def _subject(i: Instrument) -> Subject:
    return Subject("company", i.symbol, i.name, i.company_id)


def _cap(i: Instrument) -> int:
    return (i.shares or 0) * (i.prev_close or 0)


def _largest(market: Market, symbols: list[str] | None, n: int) -> list[Instrument]:
    pool = [market.by_symbol[s] for s in symbols] if symbols is not None else [
        i for i in market.by_symbol.values() if i.kind == "stock"
    ]  # fmt: skip
    return sorted(pool, key=lambda i: (-_cap(i), i.symbol))[:n]


@router.get(
    "/companies/{company_id}/analysis",
    operation_id="getCompanyAnalysis",
    response_model=Envelope[Analysis],
    responses=ERROR_RESPONSES,
)
async def company_analysis(analysis: AnalysisDep, market: MarketDep, company_id: int) -> JSONBytes:
    inst = market.company(company_id)
    if inst.kind != "stock":
        raise InvalidRequest(f"{inst.name} is not a company (kind {inst.kind})")
    return ok(await analysis.company(_subject(inst)), "기업 전망 분석을 조회하였습니다.")


@router.get(
    "/industries/{industry_id}/analysis",
    operation_id="getIndustryAnalysis",
    response_model=Envelope[Analysis],
    responses=ERROR_RESPONSES,
)
async def industry_analysis(
    analysis: AnalysisDep, market: MarketDep, research: ResearchDep, industry_id: int
) -> JSONBytes:
    ind = research.industries.get(industry_id)
    members = [
        (_subject(i), _cap(i)) for i in _largest(market, list(ind.symbols), INDUSTRY_MEMBERS)
    ]
    subject = Subject("industry", str(ind.id), ind.name)
    return ok(await analysis.industry(subject, members), "산업 전망 분석을 조회하였습니다.")


@router.get(
    "/analysis/picks",
    operation_id="getAnalysisPicks",
    response_model=Envelope[Picks],
    responses=ERROR_RESPONSES,
)
async def picks(
    analysis: AnalysisDep, market: MarketDep, limit: Annotated[int, Query(ge=1, le=20)] = 5
) -> JSONBytes:
    universe = [_subject(i) for i in _largest(market, None, PICK_UNIVERSE)]
    return ok(await analysis.picks(universe, limit), "오늘의 추천 종목을 조회하였습니다.")


@router.get(
    "/analysis/reports",
    operation_id="getAnalysisReports",
    response_model=Envelope[list[AnalysisReport]],
    responses=ERROR_RESPONSES,
)
async def reports(
    analysis: AnalysisDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> JSONBytes:
    return ok(await analysis.reports(limit), "AI 리포트 목록을 조회하였습니다.")
