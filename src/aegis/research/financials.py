"""Financial statements per company: annual or quarterly, consolidated (CFS) or parent-only
(OFS)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research import datasets
from aegis.research.tables import financials

Period = Literal["annual", "quarterly"]
Basis = Literal["CFS", "OFS"]

SOURCES = {
    datasets.SRC_OFS_QUARTERLY: (
        "DART 별도(OFS) 분기 재무제표 2015Q4–2024Q3 (KimTaegwan03, OpenDartReader 수집); "
        "연간 = 1~4분기 합계, 2015년은 원자료의 연간 행"
    ),
    datasets.SRC_ANNUAL: (
        "OpenDART 연간 손익(매출·영업이익·순이익) FY2020–2025 + 2026 1분기 (hsh2578)"
    ),
    datasets.SRC_EARNINGS: (
        "잠정·확정 실적 공시의 분기 손익, 억원 단위 (BilBu1127); status가 provisional이면 잠정"
    ),
    datasets.SRC_DART_API: "OpenDART fnlttSinglAcnt API에서 새로 받은 값",
}


def _row(r: sa.Row[tuple[object, ...]]) -> dict[str, object]:
    return {
        "year": r.year,
        "quarter": r.quarter or None,
        "revenue": r.revenue,
        "operatingProfit": r.operating_profit,
        "netIncome": r.net_income,
        "totalAssets": r.total_assets,
        "totalLiabilities": r.total_liabilities,
        "totalEquity": r.total_equity,
        "source": r.source,
        "status": r.status,
    }


@dataclass(frozen=True, slots=True)
class Annual:
    year: int
    revenue: int
    operating_profit: int | None
    source: str


async def annual_with_revenue(engine: AsyncEngine, symbol: str) -> tuple[str, list[Annual]]:
    """The default basis and its fiscal years that have a revenue figure, oldest first."""
    rows = await _load(engine, symbol, "annual")
    basis = _default_basis({r.basis for r in rows})
    return basis, [
        Annual(r.year, r.revenue, r.operating_profit, r.source)
        for r in rows
        if r.basis == basis and r.revenue
    ]


async def _load(engine: AsyncEngine, symbol: str, period: Period) -> Sequence[sa.Row[Any]]:
    t = financials
    quarter_cond = t.c.quarter == 0 if period == "annual" else t.c.quarter > 0
    async with engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(t)
                .where(t.c.symbol == symbol, quarter_cond)
                .order_by(t.c.year, t.c.quarter)
            )
        ).all()


def _default_basis(available: set[str]) -> Basis:
    return "CFS" if "CFS" in available or not available else "OFS"


async def statements(
    engine: AsyncEngine, symbol: str, period: Period, basis: Basis | None
) -> dict[str, object]:
    """Rows oldest first. Without ``basis``: consolidated where the company has consolidated
    rows for that period, else parent-only."""
    rows = await _load(engine, symbol, period)
    available = sorted({r.basis for r in rows})
    chosen: Basis = basis or _default_basis(set(available))
    picked = [_row(r) for r in rows if r.basis == chosen]
    used = sorted({str(p["source"]) for p in picked})
    return {
        "period": period,
        "basis": chosen,
        "currency": "KRW",
        "availableBases": available,
        "rows": picked,
        "sources": [{"id": s, "description": SOURCES.get(s, s)} for s in used],
        "reason": None if picked else _reason(chosen, period, available),
        "balanceSheetReason": _balance_sheet_reason(chosen, picked, rows),
    }


def _balance_sheet_reason(
    basis: str, picked: list[dict[str, object]], rows: Sequence[sa.Row[Any]]
) -> str | None:
    """Why the balance-sheet columns are null, when they are null in every row shown: the
    shipped consolidated data (OpenDART annual figures, earnings announcements) hold income
    lines only — no consolidated balance sheet exists in them (shared/data SOURCES §3.1)."""
    if not picked or any(p["totalAssets"] is not None for p in picked):
        return None
    if basis == "CFS":
        ofs = any(r.basis == "OFS" and r.total_assets is not None for r in rows)
        return (
            "연결 재무제표 없음: 연결(CFS) 재무상태표(자산·부채·자본) 자료가 없습니다. "
            "제공 자료(OpenDART 연간 손익, 실적 공시)는 손익 항목만 담고 있습니다."
            + (" 별도(OFS) 기준 재무상태표는 basis=OFS로 볼 수 있습니다." if ofs else "")
            + " DART 키를 설정하면 갱신 때 연결 재무상태표를 받아 채웁니다."
        )
    return "별도(OFS) 재무상태표(자산·부채·자본) 자료가 없습니다."


def _reason(basis: str, period: str, available: list[str]) -> str:
    name = "연결(CFS)" if basis == "CFS" else "별도(OFS)"
    kind = "연간" if period == "annual" else "분기"
    if available:
        return f"{name} {kind} 재무 데이터가 없습니다. 제공 기준: {', '.join(available)}"
    return f"이 기업의 {kind} 재무 데이터가 없습니다 (DART 키를 설정하면 새로 받아옵니다)."
