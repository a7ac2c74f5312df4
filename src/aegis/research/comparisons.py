"""Saved company comparisons per user: price performance normalised to 100 at the start of a
period, and a side-by-side table where every missing figure says why it is missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.accounts.tables import lock_user
from aegis.core.errors import InvalidRequest, NotFound
from aegis.core.timeutil import iso_z, kst_day
from aegis.db.metadata import is_integer_id
from aegis.domain.candles import Candle
from aegis.domain.intervals import parse_interval
from aegis.research import financials, valuation
from aegis.research.datasets import SRC_VALUATION
from aegis.research.tables import comparison_companies, comparisons
from aegis.services.market import Market

DAY_US = 86_400 * 1_000_000
PERIODS = {"1M": 31, "3M": 92, "6M": 183, "1Y": 366, "3Y": 1096}
MIN_COMPANIES, MAX_COMPANIES = 2, 10
MAX_PER_USER = 100


@dataclass(frozen=True, slots=True)
class Comparison:
    id: int
    user_id: int
    name: str
    period: str
    company_ids: tuple[int, ...]
    created_at: datetime


def check_period(period: str) -> str:
    p = period.upper()
    if p not in PERIODS:
        raise InvalidRequest(
            f"period must be one of {', '.join(PERIODS)}", details={"period": period}
        )
    return p


def _validate(market: Market, name: str, company_ids: list[int]) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidRequest("name must be 1–100 characters")
    if not MIN_COMPANIES <= len(company_ids) <= MAX_COMPANIES:
        raise InvalidRequest(
            f"a comparison holds {MIN_COMPANIES}–{MAX_COMPANIES} companies",
            details={"count": len(company_ids)},
        )
    if len(set(company_ids)) != len(company_ids):
        raise InvalidRequest("each company may appear once")
    for cid in company_ids:
        market.company(cid)  # 404 for an unknown one
    return name


async def create(
    engine: AsyncEngine,
    market: Market,
    user_id: int,
    name: str,
    company_ids: list[int],
    period: str = "1Y",
) -> Comparison:
    name = _validate(market, name, company_ids)
    period = check_period(period)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await lock_user(conn, user_id)  # else racing creates all pass the count
        count = (
            await conn.execute(sa.select(sa.func.count()).where(comparisons.c.user_id == user_id))
        ).scalar_one()
        if count >= MAX_PER_USER:
            raise InvalidRequest(f"at most {MAX_PER_USER} comparisons per user")
        new_id = (
            await conn.execute(
                comparisons.insert()
                .values(user_id=user_id, name=name, period=period, created_at=now)
                .returning(comparisons.c.id)
            )
        ).scalar_one()
        await conn.execute(
            comparison_companies.insert(),
            [
                {"comparison_id": new_id, "position": i, "company_id": cid}
                for i, cid in enumerate(company_ids)
            ],
        )
    return Comparison(new_id, user_id, name, period, tuple(company_ids), now)


async def list_for(engine: AsyncEngine, user_id: int) -> list[Comparison]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(comparisons)
                .where(comparisons.c.user_id == user_id)
                .order_by(comparisons.c.id.desc())
            )
        ).all()
        members = (
            await conn.execute(
                sa.select(comparison_companies)
                .where(comparison_companies.c.comparison_id.in_([r.id for r in rows]))
                .order_by(comparison_companies.c.comparison_id, comparison_companies.c.position)
            )
        ).all()
    by_id: dict[int, list[int]] = {}
    for m in members:
        by_id.setdefault(m.comparison_id, []).append(m.company_id)
    return [
        Comparison(r.id, r.user_id, r.name, r.period, tuple(by_id.get(r.id, [])), r.created_at)
        for r in rows
    ]


async def get(engine: AsyncEngine, user_id: int, comparison_id: int) -> Comparison:
    """Another user's comparison is reported as missing (404), never as forbidden."""
    for c in await list_for(engine, user_id):
        if c.id == comparison_id:
            return c
    raise NotFound(f"no comparison with id {comparison_id}")


def summary(c: Comparison, market: Market) -> dict[str, object]:
    companies = []
    for cid in c.company_ids:
        inst = market.by_id.get(cid)
        companies.append(
            {
                "companyId": cid,
                "companyName": inst.name if inst else None,
                "symbol": inst.symbol if inst else None,
            }
        )
    created = c.created_at if c.created_at.tzinfo else c.created_at.replace(tzinfo=UTC)
    return {
        "comparisonId": c.id,
        "name": c.name,
        "period": c.period,
        "companies": companies,
        "createdAt": created.isoformat(),
    }


def _metric(
    value: float | None, reason: str | None, as_of: str | None = None, source: str | None = None
) -> dict[str, object]:
    if value is None:
        return {"value": None, "reason": reason, "asOf": None, "source": None}
    return {"value": value, "reason": None, "asOf": as_of, "source": source}


async def detail(
    engine: AsyncEngine, market: Market, c: Comparison, period: str | None = None
) -> dict[str, object]:
    period = check_period(period or c.period)
    day_iv = parse_interval("1d")
    daily: dict[int, list[Candle]] = {}
    for cid in c.company_ids:
        inst = market.by_id.get(cid)
        if inst is not None:
            daily[cid] = await market.candles(inst.symbol, day_iv, None, None, 1100)
    # the period ends at the newest stored day among the companies (history may end before
    # today's wall clock) and counts back from there
    ends = [rows[-1].start for rows in daily.values() if rows]
    end = max(ends) if ends else None
    start = end - PERIODS[period] * DAY_US if end is not None else None
    windows = {
        cid: [r for r in rows if start is not None and r.start >= start]
        for cid, rows in daily.items()
    }
    # every line is 100 on the same day, the first of the period that every company with data
    # in it traded (a company whose bars start later, or halted that day, would otherwise put
    # one line's 100 beside another's value of a different day); later days are each line's own
    day_sets = [{r.start for r in w} for w in windows.values() if w]
    common = set.intersection(*day_sets) if day_sets else set()
    base_day = min(common) if common else None
    performance = []
    table = []
    for cid in c.company_ids:
        inst = market.by_id.get(cid)
        rows = daily.get(cid, [])
        if inst is None:
            continue
        window = [r for r in windows.get(cid, []) if base_day is not None and r.start >= base_day]
        if window:
            base = window[0].close
            points = [
                {"time": r.start // 1_000_000, "value": round(r.close * 100 / base, 2)}
                for r in window
            ]
            performance.append(
                {
                    "companyId": cid,
                    "symbol": inst.symbol,
                    "startDate": kst_day(window[0].start).isoformat(),
                    "points": points,
                    "reason": None,
                }
            )
        else:
            performance.append(
                {
                    "companyId": cid,
                    "symbol": inst.symbol,
                    "startDate": None,
                    "points": [],
                    "reason": "비교 기업들과 함께 거래된 날이 없습니다."
                    if windows.get(cid)
                    else "이 기간의 일봉 데이터가 없습니다.",
                }
            )
        table.append(await _row(engine, market, cid, rows, end))
    return {
        **summary(c, market),
        "period": period,
        "asOf": kst_day(end).isoformat() if end is not None else None,
        "performance": performance,
        "table": table,
    }


async def _row(
    engine: AsyncEngine, market: Market, cid: int, rows: list[Candle], end: int | None
) -> dict[str, object]:
    inst = market.company(cid)
    q = market.quote(inst.symbol)
    src = market.last_source.get(inst.symbol, "store")
    if q is not None:
        price = _metric(q.price, None, iso_z(q.last_ts), q.source)
        cap = _metric(
            q.market_cap, "시가총액을 계산할 상장주식수가 없습니다.", iso_z(q.last_ts), q.source
        )
    elif rows:
        last = rows[-1]
        price = _metric(last.close, None, kst_day(last.start).isoformat(), src)
        cap = _metric(None, "실시간 시세가 없습니다.")
    else:
        price = _metric(None, "시세 데이터가 없습니다.")
        cap = _metric(None, "시세 데이터가 없습니다.")
    v = await valuation.latest(engine, inst.symbol)
    no_val = "PER·PBR 데이터는 대형주 35개만 제공됩니다 (2019–2026-04)."
    per = _metric(v.per if v else None, no_val, v.day if v else None, SRC_VALUATION)
    pbr = _metric(v.pbr if v else None, no_val, v.day if v else None, SRC_VALUATION)
    growth, margin = await _fundamentals(engine, inst.symbol)
    year_ago = end - 365 * DAY_US if end is not None else None
    last_year = [r for r in rows if year_ago is not None and r.start >= year_ago]
    if last_year:
        asof = kst_day(last_year[-1].start).isoformat()
        hi = _metric(max(r.high for r in last_year), None, asof, src)
        lo = _metric(min(r.low for r in last_year), None, asof, src)
    else:
        hi = lo = _metric(None, "최근 1년 일봉 데이터가 없습니다.")
    return {
        "companyId": cid,
        "symbol": inst.symbol,
        "name": inst.name,
        "price": price,
        "marketCap": cap,
        "per": per,
        "pbr": pbr,
        "revenueGrowth": growth,
        "operatingMargin": margin,
        "high52w": hi,
        "low52w": lo,
    }


async def _fundamentals(
    engine: AsyncEngine, symbol: str
) -> tuple[dict[str, object], dict[str, object]]:
    """Revenue growth (%) of the newest fiscal year over the one before, and its operating
    margin (%), from the default-basis annual statements."""
    basis, rows = await financials.annual_with_revenue(engine, symbol)
    if not rows:
        reason = "연간 매출 데이터가 없습니다."
        return _metric(None, reason), _metric(None, reason)
    last = rows[-1]
    label = f"FY{last.year} {basis}"
    if last.operating_profit is None:
        margin = _metric(None, "영업이익 데이터가 없습니다.")
    else:
        value = round(last.operating_profit * 100 / last.revenue, 2)
        margin = _metric(value, None, label, last.source)
    prev = [r for r in rows if r.year == last.year - 1]
    if not prev:
        return _metric(None, "전년 매출 데이터가 없습니다."), margin
    growth = round((last.revenue / prev[0].revenue - 1) * 100, 2)
    return _metric(growth, None, label, last.source), margin


async def delete(engine: AsyncEngine, user_id: int, comparison_id: int) -> None:
    if not is_integer_id(comparison_id):
        raise NotFound(f"no comparison with id {comparison_id}")
    async with engine.begin() as conn:
        gone = await conn.execute(
            comparisons.delete().where(
                comparisons.c.id == comparison_id, comparisons.c.user_id == user_id
            )
        )
        if gone.rowcount == 0:
            raise NotFound(f"no comparison with id {comparison_id}")
