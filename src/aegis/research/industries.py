"""Industries from the Naver/WICS map (79 names) and their figures from the market's quotes.

Ids are the 1-based positions of the names in Korean sort order: stable for one map file. Each
figure carries where it comes from: the live quote (its ``source`` — ``sim`` for the simulator —
and time) or, for a stock without a quote, the KRX listing snapshot of 2026-03-20."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from aegis.core.errors import InvalidRequest, NotFound
from aegis.core.timeutil import iso_z
from aegis.domain.instruments import Instrument
from aegis.reference.listing import SNAPSHOT_DAY
from aegis.research.datasets import SECTOR_DAY, read_sector_map
from aegis.services.market import Market

SNAPSHOT_SOURCE = "krx-snapshot"
KRX_LIMIT_PERCENT = 30.0
FIGURES_TTL = 1.0  # seconds
RANK_KEYS = ("marketCap", "change", "volume", "amount")
MARKETS = {"KOSPI": ("KOSPI",), "KOSDAQ": ("KOSDAQ", "KOSDAQ GLOBAL"), "KONEX": ("KONEX",)}


@dataclass(frozen=True, slots=True)
class Industry:
    id: int
    name: str
    symbols: tuple[str, ...]


@dataclass(slots=True)
class StockFigures:
    instrument: Instrument
    price: int | None
    prev_close: int | None
    change_percent: float | None
    volume: int | None
    amount: int | None
    market_cap: int | None
    source: str
    last_ts: int | None  # the quote's time (µs); None: the snapshot day

    @property
    def as_of(self) -> str:
        return SNAPSHOT_DAY if self.last_ts is None else iso_z(self.last_ts)


def stock_figures(market: Market, inst: Instrument) -> StockFigures:
    q = market.quote(inst.symbol)
    if q is not None:
        change = q.change_percent
        if change is not None and abs(change) > KRX_LIMIT_PERCENT:
            # beyond the ±30 % daily limit: the previous close is not the previous session's
            # (a stale stored close), so the day change is unknown rather than huge
            change = None
        return StockFigures(
            inst,
            q.price,
            q.prev_close if change is not None else None,
            change,
            q.volume,
            q.amount,
            q.market_cap,
            q.source,
            q.last_ts,
        )
    cap = inst.shares * inst.prev_close if inst.shares and inst.prev_close else None
    return StockFigures(inst, inst.prev_close, None, None, None, None, cap, SNAPSHOT_SOURCE, None)


class Industries:
    def __init__(self, market: Market, sector_map: dict[str, str] | None = None) -> None:
        self.market = market
        mapping = read_sector_map() if sector_map is None else sector_map
        members: dict[str, list[str]] = {}
        for code, name in mapping.items():
            if code in market.by_symbol and market.by_symbol[code].kind == "stock":
                members.setdefault(name, []).append(code)
        names = sorted(set(mapping.values()))
        self.by_id = {
            i: Industry(i, n, tuple(sorted(members.get(n, ())))) for i, n in enumerate(names, 1)
        }
        self.by_symbol = {s: ind for ind in self.by_id.values() for s in ind.symbols}
        self.as_of = SECTOR_DAY
        self._figures: dict[str, StockFigures] = {}
        self._figures_until = 0.0

    def figures(self) -> dict[str, StockFigures]:
        """Every stock's figures, computed at most once per second: industry sums and rankings
        scan the whole market, and quotes change at most by the tick anyway."""
        now = time.monotonic()
        if now >= self._figures_until:
            self._figures = {
                s: stock_figures(self.market, i)
                for s, i in self.market.by_symbol.items()
                if i.kind == "stock"
            }
            self._figures_until = now + FIGURES_TTL
        return self._figures

    def get(self, industry_id: int) -> Industry:
        ind = self.by_id.get(industry_id)
        if ind is None:
            raise NotFound(f"no industry with id {industry_id}")
        return ind

    def of(self, symbol: str) -> Industry | None:
        return self.by_symbol.get(symbol)

    def summary(self, ind: Industry) -> dict[str, object]:
        """Member count, market cap (sum) and the cap-weighted day change of the members that
        have a quote; which sources and the newest quote time say where the figures are from."""
        cap = 0
        cap_now = cap_prev = 0
        sources: set[str] = set()
        newest: int | None = None
        figures = self.figures()
        for s in ind.symbols:
            f = figures.get(s) or stock_figures(self.market, self.market.by_symbol[s])
            sources.add(f.source)
            if f.last_ts is not None and (newest is None or f.last_ts > newest):
                newest = f.last_ts
            if f.market_cap:
                cap += f.market_cap
            shares = f.instrument.shares
            if f.price is not None and f.prev_close and shares:
                cap_now += f.price * shares
                cap_prev += f.prev_close * shares
        change = round((cap_now - cap_prev) * 100 / cap_prev, 2) if cap_prev else None
        snapshot_day = SNAPSHOT_DAY if ind.symbols else None
        return {
            "industryId": ind.id,
            "name": ind.name,
            "memberCount": len(ind.symbols),
            "marketCap": cap,
            "changePercent": change,
            "sources": sorted(sources),
            "asOf": iso_z(newest) if newest is not None else snapshot_day,
            "classification": f"naver-wics:{SECTOR_DAY}",
        }

    def summaries(self) -> list[dict[str, object]]:
        return [self.summary(ind) for ind in self.by_id.values()]


def rank_key(by: str) -> str:
    if by not in RANK_KEYS:
        raise InvalidRequest(f"by must be one of {', '.join(RANK_KEYS)}", details={"by": by})
    return by


def market_filter(market: str | None) -> tuple[str, ...] | None:
    if market is None or market.upper() == "ALL":
        return None
    found = MARKETS.get(market.upper())
    if found is None:
        raise InvalidRequest(
            f"market must be one of ALL, {', '.join(MARKETS)}", details={"market": market}
        )
    return found


def rank_stocks(
    market: Market,
    instruments: Iterable[Instrument],
    by: str,
    markets: tuple[str, ...] | None,
    limit: int,
    industries: Industries | None = None,
) -> list[dict[str, object]]:
    field = {
        "marketCap": "market_cap",
        "change": "change_percent",
        "volume": "volume",
        "amount": "amount",
    }[rank_key(by)]
    cached = industries.figures() if industries is not None else {}
    figs = [
        cached.get(i.symbol) or stock_figures(market, i)
        for i in instruments
        if i.kind == "stock" and (markets is None or i.market in markets)
    ]
    ranked = [f for f in figs if getattr(f, field) is not None]
    ranked.sort(key=lambda f: (-getattr(f, field), f.instrument.symbol))
    out: list[dict[str, object]] = []
    for n, f in enumerate(ranked[:limit], 1):
        i = f.instrument
        ind = industries.of(i.symbol) if industries is not None else None
        out.append(
            {
                "rank": n,
                "companyId": i.company_id,
                "code": i.symbol,
                "name": i.name,
                "market": i.market,
                "industryId": ind.id if ind else None,
                "industry": ind.name if ind else None,
                "price": f.price,
                "changePercent": f.change_percent,
                "volume": f.volume,
                "amount": f.amount,
                "marketCap": f.market_cap,
                "source": f.source,
                "asOf": f.as_of,
            }
        )
    return out
