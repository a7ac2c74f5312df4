"""DART disclosure lists per company, newest first, with viewer links."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research.datasets import viewer_url
from aegis.research.tables import disclosures


async def company_reports(
    engine: AsyncEngine, symbol: str, limit: int, offset: int
) -> tuple[list[dict[str, object]], int]:
    t = disclosures
    async with engine.connect() as conn:
        total = (
            await conn.execute(sa.select(sa.func.count()).where(t.c.symbol == symbol))
        ).scalar_one()
        rows = (
            await conn.execute(
                sa.select(t)
                .where(t.c.symbol == symbol)
                .order_by(t.c.filed_at.desc(), t.c.rcept_no.desc())
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return [
        {
            "rceptNo": r.rcept_no,
            "title": r.title,
            "filedAt": r.filed_at,
            "category": r.category,
            "filer": r.filer,
            "url": viewer_url(r.rcept_no),
            "source": r.source,
        }
        for r in rows
    ], int(total)
