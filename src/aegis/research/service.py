"""The research facade a running process holds: seeded tables, the industry map, listing
profiles and (with ``AEGIS_DART_API_KEY``) a periodic DART refresh. No HTTP here."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.config import Settings
from aegis.domain.instruments import Instrument
from aegis.research.dart import DartClient
from aegis.research.industries import Industries
from aegis.research.profiles import LISTING_DAY, ListingProfile, read_profiles
from aegis.research.refresh import RefreshStatus, refresh
from aegis.research.seed import seed_research
from aegis.research.tables import dart_corps
from aegis.services.market import Market

log = logging.getLogger(__name__)


class Research:
    def __init__(self, settings: Settings, engine: AsyncEngine, market: Market) -> None:
        self.settings = settings
        self.engine = engine
        self.market = market
        self.industries = Industries(market)
        self.profiles: dict[str, ListingProfile] = {}
        self.dart = RefreshStatus(configured=settings.dart_api_key is not None)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await seed_research(self.engine)
        self.profiles = read_profiles()
        if self.settings.dart_api_key is not None:
            self._task = asyncio.create_task(self._refresh_loop(), name="dart-refresh")

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
            await client.close()

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await self.refresh_now()
            except Exception:
                log.exception("DART refresh failed")
            await asyncio.sleep(self.settings.dart_refresh_hours * 3600)
