"""Analysis inputs in a running process: the research package's statements and valuations,
daily candles from the market store, headlines from the news store."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.timeutil import kst_day
from aegis.domain.intervals import parse_interval
from aegis.research import financials as fin
from aegis.research import valuation as val
from aegis.research.analysis.inputs import (
    Financials,
    FiscalYear,
    Headline,
    Prices,
    Valuation,
)
from aegis.research.news.service import NewsService
from aegis.services.market import Market

NEWS_DAYS = 30
MAX_GAP_DAYS = 10  # calendar days between sessions (long holidays are under 10)


class LiveInputs:
    def __init__(
        self, engine: AsyncEngine, market: Market, news: NewsService, *, simulated: bool
    ) -> None:
        self.engine = engine
        self.market = market
        self.news = news
        self.simulated = simulated

    async def financials(self, symbol: str) -> Financials | None:
        st = await fin.statements(self.engine, symbol, "annual", None)
        rows = st["rows"]
        assert isinstance(rows, list)
        years = tuple(
            FiscalYear(int(r["year"]), r["revenue"], r["operatingProfit"], r["netIncome"])
            for r in rows
        )
        if not years:
            return None
        sources = st["sources"]
        assert isinstance(sources, list)
        source = ", ".join(str(s["id"]) for s in sources) or "research"
        return Financials(str(st["basis"]), years, source)

    async def valuation(self, symbol: str) -> Valuation | None:
        v = await val.latest(self.engine, symbol)
        return None if v is None else Valuation(v.day, v.per, v.pbr)

    async def prices(self, symbol: str) -> Prices | None:
        inst = self.market.instrument(symbol)
        rows = await self.market.candles(symbol, parse_interval("1d"), None, None, 260)
        days = [kst_day(c.start) for c in rows]
        # only the trailing run without holes: a series with a gap of months (history files
        # that end years ago plus one snapshot bar) would fake momentum and volatility
        first = len(days) - 1
        while first > 0 and (days[first] - days[first - 1]).days <= MAX_GAP_DAYS:
            first -= 1
        rows, days = rows[first:], days[first:]
        if not rows:
            return None
        return Prices(
            tuple(d.isoformat() for d in days),
            tuple(float(inst.price_value(c.close)) for c in rows),
            "sim" if self.simulated else "store",
            self.simulated,
        )

    async def headlines(self, symbol: str) -> list[Headline]:
        found = await self.news.for_symbols([symbol], 60)
        if not found:
            return []
        newest = date.fromisoformat(_day(found[0].published_at))
        cutoff = (newest - timedelta(days=NEWS_DAYS)).isoformat()
        out = [Headline(_day(a.published_at), a.title) for a in found]
        return [h for h in out if h.day > cutoff]


def _day(ts: int) -> str:
    return kst_day(ts * 1_000_000).isoformat()
