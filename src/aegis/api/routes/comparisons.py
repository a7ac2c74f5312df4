"""Saved company comparisons of the logged-in user (another user's id answers 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aegis.api.deps import CurrentUserDep, MarketDep, ResearchDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import ERROR_RESPONSES, Envelope
from aegis.api.schemas_research import ComparisonCreate, ComparisonDetail, ComparisonSummary
from aegis.research import comparisons

router = APIRouter(prefix="/comparisons", tags=["comparisons"])
Period = Annotated[str | None, Query(description="1M, 3M, 6M, 1Y or 3Y (default: the saved one)")]


@router.get(
    "",
    operation_id="listComparisons",
    response_model=Envelope[list[ComparisonSummary]],
    responses=ERROR_RESPONSES,
)
async def list_comparisons(
    user: CurrentUserDep, market: MarketDep, research: ResearchDep
) -> JSONBytes:
    found = await comparisons.list_for(research.engine, user.id)
    return ok([comparisons.summary(c, market) for c in found], "비교 목록을 조회하였습니다.")


@router.post(
    "",
    operation_id="createComparison",
    status_code=201,
    response_model=Envelope[ComparisonSummary],
    responses=ERROR_RESPONSES,
)
async def create_comparison(
    body: ComparisonCreate, user: CurrentUserDep, market: MarketDep, research: ResearchDep
) -> JSONBytes:
    c = await comparisons.create(
        research.engine, market, user.id, body.name, body.companies, body.period
    )
    return ok(comparisons.summary(c, market), "비교를 생성하였습니다.", status=201)


@router.get(
    "/{comparison_id}",
    operation_id="getComparison",
    response_model=Envelope[ComparisonDetail],
    responses=ERROR_RESPONSES,
)
async def get_comparison(
    comparison_id: int,
    user: CurrentUserDep,
    market: MarketDep,
    research: ResearchDep,
    period: Period = None,
) -> JSONBytes:
    c = await comparisons.get(research.engine, user.id, comparison_id)
    data = await comparisons.detail(research.engine, market, c, period)
    return ok(data, "비교 상세를 조회하였습니다.")


@router.delete(
    "/{comparison_id}",
    operation_id="deleteComparison",
    response_model=Envelope[None],
    responses=ERROR_RESPONSES,
)
async def delete_comparison(
    comparison_id: int, user: CurrentUserDep, research: ResearchDep
) -> JSONBytes:
    await comparisons.delete(research.engine, user.id, comparison_id)
    return ok(None, "비교를 삭제하였습니다.")
