"""A small market for fast simulator tests: 100 stocks across price bands and both markets,
the five with shipped history, a preferred share with a letter code, and both indices."""

from __future__ import annotations

from datetime import date

import pytest

from aegis.domain.instruments import Instrument
from aegis.domain.ticks import Tick
from aegis.reference import load_instruments
from aegis.sources.sim.daily import DailyChain
from aegis.sources.sim.engine import DayEngine
from aegis.sources.sim.session import emit_mask, normal_day
from aegis.sources.sim.universe import Universe

HISTORY = ("005930", "000660", "005380", "035420", "035720")
DAY = date(2026, 11, 20)  # a Friday, eight months after the real snapshot


def small_market() -> list[Instrument]:
    everything = load_instruments()
    stocks = [i for i in everything if i.kind == "stock"]
    keep = {*HISTORY, "00104K", "001040"}  # a preferred share and its common
    picked = [i for i in stocks if i.symbol in keep]
    picked += [i for i in stocks if i.market == "KOSPI" and i.symbol not in keep][::20][:47]
    picked += [i for i in stocks if i.market == "KOSDAQ" and i.symbol not in keep][::30][:47]
    return picked + [i for i in everything if i.kind == "index"]


@pytest.fixture(scope="session")
def market() -> list[Instrument]:
    return small_market()


@pytest.fixture(scope="session")
def universe(market: list[Instrument]) -> Universe:
    return Universe.build(market, 7)


def run_day(
    u: Universe, seed: int = 7, day: date = DAY, rate: float = 8.0, chunk_us: int = 5_000_000
) -> tuple[DayEngine, list[Tick]]:
    engine = normal_day(u, DailyChain(u, seed), seed, day, rate, emit_mask(u, None), chunk_us)
    ticks = [t for batch in engine.advance(2**62) for t in batch]
    return engine, ticks


@pytest.fixture(scope="session")
def full_day(universe: Universe) -> tuple[DayEngine, list[Tick]]:
    return run_day(universe)


def stock_rows(u: Universe) -> dict[str, int]:
    return {s: k for k, s in enumerate(u.symbols[: u.n_stocks])}
