"""Refresh stored statements and filings from the DART API. A failure (timeout, limit, key)
stops the run and is recorded; what is stored stays as it was (stale data beat no data)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import UpstreamError
from aegis.core.timeutil import kst_day, now_us
from aegis.research.dart import FLOWS, REPORT_CODES, DartClient, statement_rows
from aegis.research.datasets import SRC_DART_API
from aegis.research.tables import dart_companies, dart_corps, disclosures, financials

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RefreshStatus:
    configured: bool = False
    last_run: str | None = None
    last_ok: str | None = None
    last_error: dict[str, Any] | None = None
    written: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "configured": self.configured,
            "lastRun": self.last_run,
            "lastSuccess": self.last_ok,
            "lastError": self.last_error,
        }


async def corp_code_of(engine: AsyncEngine, symbol: str) -> str | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(dart_corps.c.corp_code).where(dart_corps.c.symbol == symbol)
            )
        ).scalar_one_or_none()


async def store_corp_codes(engine: AsyncEngine, client: DartClient) -> int:
    codes = [c for c in await client.corp_codes() if len(c.stock_code) == 6]
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(dart_corps.delete())
        await conn.execute(
            dart_corps.insert(),
            [
                {
                    "symbol": c.stock_code,
                    "corp_code": c.corp_code,
                    "corp_name": c.corp_name,
                    "updated_at": now,
                }
                for c in codes
            ],
        )
    return len(codes)


async def _put_statement(
    engine: AsyncEngine, symbol: str, basis: str, year: int, quarter: int, f: dict[str, Any]
) -> None:
    t = financials
    key = (
        (t.c.symbol == symbol)
        & (t.c.basis == basis)
        & (t.c.year == year)
        & (t.c.quarter == quarter)
    )
    row = {
        "symbol": symbol,
        "basis": basis,
        "year": year,
        "quarter": quarter,
        "revenue": f.get("revenue"),
        "operating_profit": f.get("operating_profit"),
        "net_income": f.get("net_income"),
        "total_assets": f.get("total_assets"),
        "total_liabilities": f.get("total_liabilities"),
        "total_equity": f.get("total_equity"),
        "source": SRC_DART_API,
        "status": "final",
        "rcept_no": f.get("rcept_no"),
        "updated_at": datetime.now(UTC),
    }
    async with engine.begin() as conn:  # portable upsert: replace the row in one transaction
        await conn.execute(t.delete().where(key))
        await conn.execute(t.insert().values(**row))


async def refresh_statements(
    engine: AsyncEngine, client: DartClient, symbol: str, corp_code: str, year: int
) -> int:
    """One fiscal year: the annual report and the three quarterly ones. Quarters 1–3 are the
    reports' own-quarter amounts; Q4 is the year minus the nine-month cumulative of the Q3
    report (``thstrm_add_amount``), or minus Q1–Q3 where that is not given (DART has no Q4
    report)."""
    per_q: dict[int, dict[str, dict[str, int | None]]] = {}
    for q, code in REPORT_CODES.items():
        per_q[q] = statement_rows(await client.single_accounts(corp_code, year, code))
    written = 0
    for basis in ("CFS", "OFS"):
        annual = per_q[4].get(basis)
        if annual:
            await _put_statement(engine, symbol, basis, year, 0, annual)
            written += 1
        for q in (1, 2, 3):
            if per_q[q].get(basis):
                await _put_statement(engine, symbol, basis, year, q, per_q[q][basis])
                written += 1
        q3 = per_q[3].get(basis) or {}
        have_quarters = all(per_q[q].get(basis) for q in (1, 2, 3))
        if annual and (have_quarters or any(q3.get(f"{k}_ytd") is not None for k in FLOWS)):
            q4: dict[str, Any] = {
                k: annual.get(k) for k in ("total_assets", "total_liabilities", "total_equity")
            }
            for k in FLOWS:
                nine_months = q3.get(f"{k}_ytd")
                if nine_months is None and have_quarters:
                    parts = [per_q[q][basis].get(k) for q in (1, 2, 3)]
                    if all(p is not None for p in parts):
                        nine_months = sum(p for p in parts if p is not None)
                total = annual.get(k)
                q4[k] = None if total is None or nine_months is None else total - nine_months
            await _put_statement(engine, symbol, basis, year, 4, q4)
            written += 1
    return written


async def refresh_disclosures(
    engine: AsyncEngine, client: DartClient, symbol: str, corp_code: str, days: int = 90
) -> int:
    end = kst_day(now_us())
    bgn = end - timedelta(days=days)
    page, pages, written = 1, 1, 0
    while page <= pages:
        rows, pages = await client.disclosures(
            corp_code, bgn.strftime("%Y%m%d"), end.strftime("%Y%m%d"), page
        )
        async with engine.begin() as conn:
            have = set(
                (
                    await conn.execute(
                        sa.select(disclosures.c.rcept_no).where(
                            disclosures.c.rcept_no.in_([r.get("rcept_no") for r in rows])
                        )
                    )
                ).scalars()
            )
            new = [
                {
                    "rcept_no": r["rcept_no"],
                    "symbol": symbol,
                    "corp_name": r.get("corp_name") or symbol,
                    "filed_at": _iso_day(str(r.get("rcept_dt", ""))),
                    "title": str(r.get("report_nm", "")).strip(),
                    "category": None,
                    "filer": r.get("flr_nm") or None,
                    "source": SRC_DART_API,
                }
                for r in rows
                if r.get("rcept_no") and r["rcept_no"] not in have
            ]
            if new:
                await conn.execute(disclosures.insert(), new)
        written += len(new)
        page += 1
    return written


async def refresh_company(
    engine: AsyncEngine, client: DartClient, symbol: str, corp_code: str
) -> int:
    """Store the company's 기업개황 (company.json) with when it was fetched; 0 when DART has
    none (the stored one, if any, stays)."""
    c = await client.company(corp_code)
    if c is None:
        return 0
    row = {
        "corp_code": c.corp_code,
        "corp_name": c.corp_name,
        "corp_name_eng": c.corp_name_eng,
        "ceo": c.ceo,
        "homepage": c.homepage,
        "ir_url": c.ir_url,
        "address": c.address,
        "phone": c.phone,
        "industry_code": c.industry_code,
        "established_on": c.established_on,
        "fiscal_month": c.fiscal_month,
        "corp_class": c.corp_class,
        "fetched_at": datetime.now(UTC),
    }
    async with engine.begin() as conn:
        done = await conn.execute(
            dart_companies.update().where(dart_companies.c.symbol == symbol).values(**row)
        )
        if done.rowcount == 0:
            await conn.execute(dart_companies.insert().values(symbol=symbol, **row))
    return 1


def _iso_day(yyyymmdd: str) -> str:
    if len(yyyymmdd) == 8 and yyyymmdd.isdigit():
        return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    return yyyymmdd


async def refresh(
    engine: AsyncEngine,
    client: DartClient,
    symbols: list[str],
    status: RefreshStatus,
    years: list[int] | None = None,
) -> RefreshStatus:
    """Statements of the last two fiscal years, 90 days of filings and the company profile
    (company.json) for each symbol."""
    status.last_run = datetime.now(UTC).isoformat()
    this_year = kst_day(now_us()).year
    years = years or [this_year - 1, this_year]
    counts = {"statements": 0, "disclosures": 0, "profiles": 0}
    try:
        for symbol in symbols:
            corp = await corp_code_of(engine, symbol)
            if corp is None:
                continue
            for y in years:
                counts["statements"] += await refresh_statements(engine, client, symbol, corp, y)
            counts["disclosures"] += await refresh_disclosures(engine, client, symbol, corp)
            counts["profiles"] += await refresh_company(engine, client, symbol, corp)
    except UpstreamError as exc:
        status.last_error = {"code": exc.code, "message": exc.message, "at": status.last_run}
        status.written = counts
        log.warning("DART refresh stopped: %s", exc.message)
        return status
    status.last_ok = status.last_run
    status.last_error = None
    status.written = counts
    return status
