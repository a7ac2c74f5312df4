"""The simulated market as arrays: one row per stock, plus the two indices built from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from aegis.core.errors import InvalidRequest
from aegis.domain.instruments import Instrument
from aegis.reference.indices import INDEX_MARKETS, last_close
from aegis.reference.listing import ListedStock, read_listing
from aegis.sources.sim import params

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

MARKET_IDS = {"KOSPI": 0, "KOSDAQ": 1, "KOSDAQ GLOBAL": 1, "KONEX": 2}


@dataclass(slots=True)
class IndexDef:
    symbol: str
    members: NDArray[np.intp]  # stock rows in this index
    anchor_close: int  # 1/100 points, the index's real close on the anchor day


@dataclass(slots=True)
class Universe:
    symbols: list[str]  # stocks, then index symbols
    n_stocks: int
    market: NDArray[np.intp]
    industry: NDArray[np.intp]
    n_industries: int
    shares: I64
    anchor_close: I64  # the real snapshot close (won), start of every synthesized chain
    base_volume: F64  # typical daily volume (shares)
    activity: F64  # relative trade frequency
    idio_vol: F64
    beta: F64
    indices: list[IndexDef]
    suspended: NDArray[np.bool_]  # no trade on the snapshot day (거래정지): they do not trade

    def stock_rows(self) -> dict[str, int]:
        """Each stock's row by symbol."""
        return {s: k for k, s in enumerate(self.symbols[: self.n_stocks])}

    @classmethod
    def build(cls, instruments: Sequence[Instrument], seed: int) -> Universe:
        stocks = [i for i in instruments if i.kind == "stock" and i.market in MARKET_IDS]
        if not stocks:
            raise InvalidRequest("the simulator needs at least one KRX stock instrument")
        for s in stocks:
            if not s.prev_close or not s.shares:
                raise InvalidRequest(f"{s.symbol}: no previous close or shares to simulate from")
        n = len(stocks)
        codes = [s.symbol for s in stocks]
        # Preferred shares have no industry in the listing: give them their common stock's
        # (same code with a trailing 0, e.g. 005935 → 005930), so the pair moves together.
        by_code = {s.symbol: s for s in stocks}
        industries: list[str] = []
        for s in stocks:
            ind = s.industry
            if ind is None:
                common = by_code.get(s.symbol[:5] + "0")
                ind = common.industry if common is not None else None
            industries.append(ind or "기타")
        ind_names = sorted(set(industries))
        ind_id = {name: k for k, name in enumerate(ind_names)}
        shares = np.array([s.shares or 0 for s in stocks], dtype=np.int64)
        snap = _snapshot()
        # The chain's anchor is the real snapshot close, never ``prev_close`` as a caller may have
        # set it since (the running sim moves it to the day being played).
        close = np.array(
            [snap[s.symbol].close if s.symbol in snap else s.prev_close or 0 for s in stocks],
            dtype=np.int64,
        )
        volume = np.array([snap[c].volume if c in snap else 0 for c in codes], dtype=np.float64)
        suspended = np.array([c in snap and snap[c].volume == 0 for c in codes], dtype=bool)
        amount = np.array([snap[c].amount if c in snap else 0 for c in codes], dtype=np.float64)
        cap = shares.astype(np.float64) * close
        # A suspended stock (volume 0 that day) still gets a plausible volume: 0.1 % of shares.
        volume = np.where(volume > 0, volume, np.maximum(shares * 0.001, 100.0))
        amount = np.where(amount > 0, amount, volume * close)
        rank = np.argsort(np.argsort(cap)) / max(n - 1, 1)  # 0 smallest … 1 largest
        rng = np.random.default_rng([seed, 0])
        indices: list[IndexDef] = []
        for inst in instruments:
            if inst.kind == "index" and inst.symbol in INDEX_MARKETS and inst.prev_close:
                markets = INDEX_MARKETS[inst.symbol]
                members = np.array(
                    [k for k, s in enumerate(stocks) if s.market in markets], dtype=np.intp
                )
                if len(members):
                    indices.append(IndexDef(inst.symbol, members, last_close(inst.symbol)[1]))
        return cls(
            symbols=codes + [ix.symbol for ix in indices],
            n_stocks=n,
            market=np.array([MARKET_IDS[s.market] for s in stocks], dtype=np.intp),
            industry=np.array([ind_id[x] for x in industries], dtype=np.intp),
            n_industries=len(ind_names),
            shares=shares,
            anchor_close=close,
            base_volume=volume,
            activity=(amount + params.ACTIVITY_FLOOR_WON) ** params.ACTIVITY_POWER,
            idio_vol=params.IDIO_VOL_SMALL - (params.IDIO_VOL_SMALL - params.IDIO_VOL_LARGE) * rank,
            beta=rng.uniform(*params.BETA_RANGE, size=n),
            indices=indices,
            suspended=suspended,
        )

    def index_value(self, ix: IndexDef, prices: I64, base_prices: I64, base_value: int) -> int:
        """Market-cap weighted: base_value × Σ shares·price / Σ shares·base_price, rounded half
        up, exact integer arithmetic (1/100 points)."""
        cap = int(np.dot(self.shares[ix.members], prices[ix.members]))
        base = int(np.dot(self.shares[ix.members], base_prices[ix.members]))
        return (2 * cap * base_value + base) // (2 * base)

    def total_vol(self) -> F64:
        """Each stock's total daily log-return volatility under the factor model."""
        mkt = np.array([params.MARKET_VOL[int(m)] for m in range(3)])[self.market]
        out: F64 = np.sqrt((self.beta * mkt) ** 2 + params.INDUSTRY_VOL**2 + self.idio_vol**2)
        return out


@lru_cache(maxsize=1)
def _snapshot() -> dict[str, ListedStock]:
    return {row.code: row for row in read_listing()}


def student_t(rng: np.random.Generator, size: int | tuple[int, ...]) -> F64:
    """Student-t shocks scaled to unit variance (heavy-tailed returns)."""
    df = params.T_DF
    out: F64 = rng.standard_t(df, size=size) / np.sqrt(df / (df - 2.0))
    return out


def factor_shocks(rng: np.random.Generator, u: Universe, rows: int) -> F64:
    """``rows`` × n_stocks correlated unit-scale return shocks: market factor (per market,
    correlated across markets) × beta, industry factor, and idiosyncratic noise. Multiply by a
    per-row scale to get returns."""
    z = student_t(rng, (rows, 3))
    k = params.KOSDAQ_KOSPI_CORR
    x = params.KONEX_KOSPI_CORR
    mkt = np.empty((rows, 3))
    mkt[:, 0] = z[:, 0] * params.MARKET_VOL[0]
    mkt[:, 1] = (k * z[:, 0] + np.sqrt(1 - k * k) * z[:, 1]) * params.MARKET_VOL[1]
    mkt[:, 2] = (x * z[:, 0] + np.sqrt(1 - x * x) * z[:, 2]) * params.MARKET_VOL[2]
    ind = student_t(rng, (rows, u.n_industries)) * params.INDUSTRY_VOL
    idio = student_t(rng, (rows, u.n_stocks)) * u.idio_vol
    out: F64 = mkt[:, u.market] * u.beta + ind[:, u.industry] + idio
    return out
