"""What the analyst reads, through one narrow interface (so it is tested with fixtures and runs
on the research package's tables, the market store and the news store in production)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FiscalYear:
    year: int
    revenue: int | None  # KRW
    operating_profit: int | None
    net_income: int | None


@dataclass(frozen=True, slots=True)
class Financials:
    basis: str  # CFS | OFS
    years: tuple[FiscalYear, ...]  # oldest first, complete fiscal years only
    source: str


@dataclass(frozen=True, slots=True)
class Valuation:
    day: str  # YYYY-MM-DD
    per: float | None
    pbr: float | None


@dataclass(frozen=True, slots=True)
class Prices:
    days: tuple[str, ...]  # KST dates, oldest first
    closes: tuple[float, ...]
    source: str  # "store" (real history) or the live source name, e.g. "sim"
    simulated: bool


@dataclass(frozen=True, slots=True)
class Headline:
    day: str  # KST date
    title: str


class AnalysisInputs(Protocol):
    async def financials(self, symbol: str) -> Financials | None: ...

    async def valuation(self, symbol: str) -> Valuation | None: ...

    async def prices(self, symbol: str) -> Prices | None: ...

    async def headlines(self, symbol: str) -> list[Headline]: ...
