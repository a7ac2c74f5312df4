"""Daily PER, PBR, dividend yield and market cap per company."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research.tables import valuations

DESCRIPTION = (
    "일별 PER·PBR·배당수익률·시가총액 2019-01-02 → 2026-04-24 (hsh2578, KRX/Naver 기반); "
    "close는 수정주가"
)


async def history(
    engine: AsyncEngine, symbol: str, start: str | None, end: str | None, limit: int = 260
) -> list[dict[str, object]]:
    """The newest ``limit`` days within [start, end], oldest first."""
    t = valuations
    q = sa.select(t).where(t.c.symbol == symbol)
    if start:
        q = q.where(t.c.day >= start)
    if end:
        q = q.where(t.c.day <= end)
    async with engine.connect() as conn:
        newest_first = (await conn.execute(q.order_by(t.c.day.desc()).limit(limit))).all()
    rows = newest_first[::-1]
    return [
        {
            "date": r.day,
            "close": r.close,
            "per": r.per,
            "pbr": r.pbr,
            "dividendYield": r.div_yield,
            "marketCap": r.market_cap,
        }
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Latest:
    day: str
    per: float | None
    pbr: float | None


async def latest(engine: AsyncEngine, symbol: str) -> Latest | None:
    t = valuations
    async with engine.connect() as conn:
        r = (
            await conn.execute(
                sa.select(t.c.day, t.c.per, t.c.pbr)
                .where(t.c.symbol == symbol)
                .order_by(t.c.day.desc())
                .limit(1)
            )
        ).first()
    return None if r is None else Latest(r.day, r.per, r.pbr)
