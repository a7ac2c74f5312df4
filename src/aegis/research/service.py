"""The research facade a running process holds: seeded tables, the industry map, listing
profiles and (with ``AEGIS_DART_API_KEY``) a periodic DART refresh. No HTTP here."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.cache import TieredCache
from aegis.core.config import Settings
from aegis.domain.instruments import Instrument
from aegis.research import dartprofile, disclosures, financials, valuation
from aegis.research.dart import DartClient
from aegis.research.industries import Industries
from aegis.research.profiles import LISTING_DAY, ListingProfile, read_profiles
from aegis.research.refresh import RefreshStatus, refresh
from aegis.research.seed import seed_research
from aegis.research.tables import dart_corps
from aegis.services.market import Market

log = logging.getLogger(__name__)


class Research:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        market: Market,
        cache: TieredCache | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.market = market
        self.industries = Industries(market)
        self.profiles: dict[str, ListingProfile] = {}
        self.dart = RefreshStatus(configured=settings.dart_api_key is not None)
        # shared with other processes through Redis in server mode; a DART refresh invalidates
        # it in every process
        self.cache = cache if cache is not None else TieredCache("research")
        self._task: asyncio.Task[None] | None = None

    async def start(self, refresh: bool = True) -> None:
        """``refresh``: run the DART refresh loop here (the ingesting process only, so that
        several API processes in server mode do not each spend the daily DART quota)."""
        await seed_research(self.engine)
        self.profiles = read_profiles()
        await self._warm_up()
        if refresh and self.settings.dart_api_key is not None:
            self._task = asyncio.create_task(self._refresh_loop(), name="dart-refresh")

    async def _warm_up(self) -> None:
        """One query of each kind before serving: opens the pooled connections and fills
        SQLAlchemy's statement cache, so a user's first company page does not pay for it.
        Not cached: any symbol works."""
        await financials.statements(self.engine, "005930", "annual", None)
        await financials.statements(self.engine, "005930", "quarterly", "OFS")
        await disclosures.company_reports(self.engine, "005930", 1, 0)
        await valuation.history(self.engine, "005930", None, None, 1)
        await valuation.latest(self.engine, "005930")
        self.industries.figures()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def profile_fields(self, inst: Instrument) -> dict[str, object]:
        """What ``GET /companies/{id}`` adds from the listing and the industry map."""
        p = self.profiles.get(inst.symbol)
        ind = self.industries.of(inst.symbol)
        return {
            "representative": p.representative if p else None,
            "homepage": p.homepage if p else None,
            "region": p.region if p else None,
            "settleMonth": p.settle_month if p else None,
            "industryId": ind.id if ind else None,
            "industryName": ind.name if ind else None,
            "profileSource": f"krx-listing:{LISTING_DAY}" if p else None,
        }

    async def dart_profile(self, symbol: str) -> dict[str, object]:
        """The stored DART 기업개황 with its source and asOf, or null and why."""
        key = ("dart-profile", symbol)
        stored: dict[str, object] | None = await self.cache.get(
            key, lambda: dartprofile.load(self.engine, symbol)
        )
        return {
            "dartProfile": stored,
            "dartProfileReason": None
            if stored
            else dartprofile.missing_reason(self.dart.configured),
        }

    # --- cached queries (the routes' entry points) -----------------------------------------
    async def financials(
        self, symbol: str, period: financials.Period, basis: financials.Basis | None
    ) -> dict[str, object]:
        key = ("financials", symbol, period, basis)
        data: dict[str, object] = await self.cache.get(
            key, lambda: financials.statements(self.engine, symbol, period, basis)
        )
        return data

    async def reports(
        self, symbol: str, limit: int, offset: int
    ) -> tuple[list[dict[str, object]], int]:
        key = ("reports", symbol, limit, offset)
        data: tuple[list[dict[str, object]], int] = await self.cache.get(
            key, lambda: disclosures.company_reports(self.engine, symbol, limit, offset)
        )
        return data

    async def valuation(
        self, symbol: str, start: str | None, end: str | None, limit: int
    ) -> list[dict[str, object]]:
        key = ("valuation", symbol, start, end, limit)
        data: list[dict[str, object]] = await self.cache.get(
            key, lambda: valuation.history(self.engine, symbol, start, end, limit)
        )
        return data

    async def refresh_symbols(self) -> list[str]:
        if self.settings.dart_symbols:
            return [s.strip() for s in self.settings.dart_symbols.split(",") if s.strip()]
        async with self.engine.connect() as conn:
            return list((await conn.execute(sa.select(dart_corps.c.symbol))).scalars())

    async def refresh_now(self, client: DartClient | None = None) -> RefreshStatus:
        key = self.settings.dart_api_key
        if client is None:
            if key is None:
                return self.dart
            client = DartClient(
                key, self.settings.dart_base_url, self.settings.dart_timeout_seconds
            )
        try:
            return await refresh(self.engine, client, await self.refresh_symbols(), self.dart)
        finally:
            await self.cache.invalidate()
            await client.close()

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await self.refresh_now()
            except Exception:
                log.exception("DART refresh failed")
            await asyncio.sleep(self.settings.dart_refresh_hours * 3600)
