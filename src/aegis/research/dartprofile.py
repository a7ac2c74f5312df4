"""The stored OpenDART company profile (company.json, 기업개황) as served in
``GET /companies/{id}``: its fields, its source and when it was fetched (asOf)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research.tables import dart_companies

SOURCE = "opendart:company.json"


async def load(engine: AsyncEngine, symbol: str) -> dict[str, object] | None:
    async with engine.connect() as conn:
        r = (
            await conn.execute(sa.select(dart_companies).where(dart_companies.c.symbol == symbol))
        ).first()
    if r is None:
        return None
    return {
        "corpCode": r.corp_code,
        "corpName": r.corp_name,
        "corpNameEng": r.corp_name_eng,
        "ceo": r.ceo,
        "homepage": r.homepage,
        "irUrl": r.ir_url,
        "address": r.address,
        "phone": r.phone,
        "industryCode": r.industry_code,
        "establishedOn": r.established_on,
        "fiscalMonth": r.fiscal_month,
        "corpClass": r.corp_class,
        "source": SOURCE,
        "asOf": _utc(r.fetched_at).isoformat(),
    }


def _utc(dt: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they are stored in UTC
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def missing_reason(dart_configured: bool) -> str:
    if dart_configured:
        return "DART 기업개황을 아직 받지 못했습니다 (다음 DART 갱신 때 저장됩니다)."
    return (
        "DART 기업개황이 없습니다: AEGIS_DART_API_KEY를 설정하면 DART 갱신 때 받아 저장합니다. "
        "대표자·홈페이지·지역은 KRX 상장 목록 기준입니다."
    )
