"""KIS REST quotations through the rate limiter: current price (FHKST01010100), daily chart
(FHKST03010100, backfill) and same-day trades by time (FHPST01060000, reconnect gap fill)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx

from aegis.core.errors import SourceError
from aegis.credentials.store import BrokerCredentials
from aegis.domain.ticks import BUY, SELL, UNKNOWN_SIDE, Tick
from aegis.history.types import DailyBar
from aegis.sources.common.backoff import Backoff
from aegis.sources.common.ratelimit import TokenBucket
from aegis.sources.kis.auth import KisAuth
from aegis.sources.kis.calls import KisCalls
from aegis.sources.kis.parse import SOURCE, kst_instant_us

log = logging.getLogger("aegis.sources.kis")

PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
DAILY_PATH = "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice"
TRADES_PATH = "/uapi/domestic-stock/v1/quotations/inquire-time-itemconclusion"
DAILY_PAGE = 100


class KisRest:
    def __init__(
        self,
        http: httpx.AsyncClient,
        creds: BrokerCredentials,
        auth: KisAuth,
        limiter: TokenBucket,
        *,
        max_retries: int = 5,
        retry_backoff: Backoff | None = None,
    ) -> None:
        self.limiter = limiter
        self._calls = KisCalls(
            http,
            creds,
            auth,
            error=SourceError,
            limiter=limiter,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
        )

    def __repr__(self) -> str:
        return "KisRest(<redacted>)"

    @property
    def rate_limited(self) -> int:
        """EGW00201 answers received."""
        return self._calls.rate_limited

    async def get(self, path: str, tr_id: str, params: dict[str, str]) -> dict[str, Any]:
        body, _ = await self._calls.get(path, tr_id, params)
        return body

    async def current_price(self, symbol: str) -> dict[str, Any]:
        body = await self.get(
            PRICE_PATH, "FHKST01010100",
            {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},
        )  # fmt: skip
        out = body.get("output")
        return out if isinstance(out, dict) else {}

    async def daily_chart(
        self,
        symbol: str,
        start: date,
        end: date,
        *,
        adjusted: bool = True,
        progress: Callable[[int, date], None] | None = None,
    ) -> list[DailyBar]:
        """Daily bars start..end ascending. KIS returns ≤100 rows per call, newest first, so
        pages walk backwards from ``end``; ``progress(rows_so_far, oldest_day)`` after each."""
        bars: dict[date, DailyBar] = {}
        page_end = end
        while page_end >= start:
            body = await self.get(
                DAILY_PATH,
                "FHKST03010100",
                {
                    "FID_COND_MRKT_DIV_CODE": "J",
                    "FID_INPUT_ISCD": symbol,
                    "FID_INPUT_DATE_1": start.strftime("%Y%m%d"),
                    "FID_INPUT_DATE_2": page_end.strftime("%Y%m%d"),
                    "FID_PERIOD_DIV_CODE": "D",
                    "FID_ORG_ADJ_PRC": "0" if adjusted else "1",
                },
            )
            rows = [r for r in body.get("output2") or [] if isinstance(r, dict) and r]
            page = [_daily_bar(r) for r in rows if r.get("stck_bsop_date")]
            for bar in page:
                if start <= bar.day <= end:
                    bars[bar.day] = bar
            if not page:
                break
            oldest = min(b.day for b in page)
            if progress is not None:
                progress(len(bars), oldest)
            if len(rows) < DAILY_PAGE or oldest <= start:
                break
            page_end = oldest - timedelta(days=1)
        return [bars[d] for d in sorted(bars)]

    async def trades_back_to(
        self, symbol: str, after_seq: int, from_hhmmss: str, trading_day: str
    ) -> list[Tick]:
        """Same-day trades with cumulative volume > ``after_seq``, walking back in time from
        ``from_hhmmss`` (rows come newest first). Ticks carry the same (ts, seq) as the
        WebSocket would have given them, so the caller's dedup merges both."""
        out: list[Tick] = []
        hour = from_hhmmss
        while True:
            body = await self.get(
                TRADES_PATH,
                "FHPST01060000",
                {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol,
                 "FID_INPUT_HOUR_1": hour},
            )  # fmt: skip
            rows = [r for r in body.get("output2") or [] if isinstance(r, dict) and r]
            if not rows:
                break
            oldest_seq = None
            oldest_hour = hour
            for r in rows:
                seq = int(r["acml_vol"])
                if oldest_seq is None or seq < oldest_seq:
                    oldest_seq, oldest_hour = seq, str(r["stck_cntg_hour"])
                if seq > after_seq:
                    out.append(_rest_tick(symbol, r, trading_day))
            if oldest_seq is None or oldest_seq <= after_seq:
                break
            # next page: the same second again (more trades may share it) unless nothing older
            # came back, then one second earlier so that the walk always makes progress
            nxt = oldest_hour if oldest_hour != hour else _minus_one_second(hour)
            if nxt is None:
                break
            hour = nxt
        return out


def _minus_one_second(hhmmss: str) -> str | None:
    s = int(hhmmss[:2]) * 3600 + int(hhmmss[2:4]) * 60 + int(hhmmss[4:6]) - 1
    if s < 0:
        return None
    return f"{s // 3600:02d}{s % 3600 // 60:02d}{s % 60:02d}"


def _rest_tick(symbol: str, r: dict[str, Any], trading_day: str) -> Tick:
    price = int(r["stck_pbpr"])
    ask, bid = int(r.get("askp") or 0), int(r.get("bidp") or 0)
    # the REST row has no buy/sell flag: a trade at the ask was bought, at the bid sold
    side = BUY if ask and price >= ask else SELL if bid and price <= bid else UNKNOWN_SIDE
    return Tick(
        symbol,
        kst_instant_us(trading_day, str(r["stck_cntg_hour"])),
        price,
        int(r["cnqn"]),
        side,
        int(r["acml_vol"]),
        SOURCE,
    )


def _daily_bar(r: dict[str, Any]) -> DailyBar:
    d = str(r["stck_bsop_date"])
    amount = r.get("acml_tr_pbmn")
    return DailyBar(
        date(int(d[:4]), int(d[4:6]), int(d[6:8])),
        int(r["stck_oprc"]), int(r["stck_hgpr"]), int(r["stck_lwpr"]), int(r["stck_clpr"]),
        int(r["acml_vol"]), int(amount) if amount not in (None, "") else None,
    )  # fmt: skip
