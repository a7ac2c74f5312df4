"""Everything a running AEGIS process holds, wired from settings: store, bus, market, stream hub,
and (when this process ingests) the ingest service and its sources. No HTTP here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.bus.base import Bus
from aegis.bus.memory import MemoryBus
from aegis.core.config import Settings
from aegis.core.timeutil import now_us
from aegis.domain.instruments import Instrument
from aegis.domain.sources import HISTORY_SOURCES
from aegis.services.ingest import IngestService
from aegis.services.market import Market
from aegis.services.stream import StreamHub
from aegis.services.watch import WatchCollector, WatchReporter
from aegis.sources.base import Source, SourceState
from aegis.store.base import Store

log = logging.getLogger(__name__)


def make_store(settings: Settings) -> Store:
    if settings.database_url:
        from aegis.store.postgres import PostgresStore

        return PostgresStore(settings.database_url)
    from aegis.store.sqlite import SQLiteStore

    return SQLiteStore(settings.sqlite_path)


def make_bus(settings: Settings) -> Bus:
    if settings.redis_url:
        from aegis.bus.redis import RedisBus

        return RedisBus(settings.redis_url)
    return MemoryBus()


def retention_spares(settings: Settings) -> frozenset[str]:
    """Sources the live retention windows never remove (imported and backfilled history)."""
    return HISTORY_SOURCES if settings.retention_keeps_history else frozenset()


def reference_instruments() -> list[Instrument]:
    from aegis.reference import load_instruments

    return load_instruments()


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        bus: Bus | None = None,
        sources: list[Source] | None = None,
        ingest: bool | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or make_store(settings)
        # the application database (accounts, research, trading); opened in start()
        self.db: AsyncEngine | None = None
        self.bus = bus or make_bus(settings)
        self._given_sources = sources
        self.ingesting = settings.ingest if ingest is None else ingest
        self.sources: list[Source] = []
        self.ingest: IngestService | None = None
        self.market: Market | None = None
        self.hub: StreamHub | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.watch_reporter: WatchReporter | None = None
        self.watch_collector: WatchCollector | None = None
        self.started = time.time()
        self.retention_ran: int | None = None  # UTC µs of this process's last retention pass

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.close()  # nothing left half-open after a failed start
            raise

    async def _start(self) -> None:
        from aegis.db import create_app_engine

        self.db = create_app_engine(self.settings.app_db_url)
        await self.store.start()
        await self.bus.start()
        sources: list[Source] = []
        if self.ingesting:
            if self._given_sources is not None:
                sources = self._given_sources
            else:
                from aegis.sources.registry import build_sources

                # the simulator gets its own copies: it moves their prev_close day by day
                sources = build_sources(self.settings, reference_instruments())
            reference = reference_instruments()
            extra = [i for s in sources for i in s.instruments()]
            await self.store.upsert_instruments(reference + extra)
            await self._seed_history(sources, reference)
        instruments = await self.store.list_instruments()
        if not instruments:
            # a serve-only process before any ingester ran: register the reference listing
            await self.store.upsert_instruments(reference_instruments())
            instruments = await self.store.list_instruments()
        self.market = Market(self.store, instruments)
        await self._restore_live(self.market)
        self.hub = StreamHub(self.bus, self.market)
        await self.hub.start()
        self.watch_reporter = WatchReporter(self.bus, self.hub)
        self.watch_reporter.start()
        if self.ingesting:
            self.ingest = IngestService(
                self.store, self.bus, known_symbols=set(self.market.by_symbol)
            )
            await self.ingest.start()
            self.sources = sources
            latest = max((st.last_ts for st in self.ingest.aggregator.state.values()), default=None)
            for src in sources:
                resume = getattr(src, "resume_from", None)
                if latest is not None and resume is not None:
                    resume(latest)
                self._tasks.append(
                    asyncio.create_task(self._run_source(src), name=f"source-{src.name}")
                )
            if not self.settings.sim_replay:
                # a replay writes ticks stamped on a past day: retention would remove them
                self._tasks.append(asyncio.create_task(self._retention_loop(), name="retention"))

    async def _seed_history(self, sources: list[Source], instruments: list[Instrument]) -> None:
        from aegis.services.history_seed import seed_real_history, seed_sim_history

        await seed_real_history(self.store, instruments)
        if any(s.name == "sim" for s in sources) and not self.settings.sim_replay:
            from aegis.sources.sim.calendar import first_session

            day, _ = first_session(now_us(), self.settings.sim_speed)
            await seed_sim_history(self.store, instruments, self.settings.sim_seed, day)

    async def _restore_live(self, market: Market) -> None:
        await market.restore_live()

    async def _run_source(self, src: Source) -> None:
        assert self.ingest is not None
        try:
            await src.run(self.ingest)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            src.set_state(SourceState.FAILED, f"{type(exc).__name__}: {exc}")
            log.exception("source %s failed", src.name)

    async def _retention_loop(self) -> None:
        while True:
            try:
                now = now_us()
                deleted = await self.store.apply_retention(
                    now,
                    self.settings.tick_retention_days,
                    self.settings.candle_retention_days,
                    retention_spares(self.settings),
                )
                self.retention_ran = now
                if any(deleted.values()):
                    log.info("retention removed %s", deleted)
            except Exception:
                log.exception("retention failed")
            await asyncio.sleep(3600)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.watch_reporter is not None:
            await self.watch_reporter.close()
        if self.watch_collector is not None:
            await self.watch_collector.close()
        if self.ingest is not None:
            await self.ingest.close()
        if self.hub is not None:
            await self.hub.close()
        await self.bus.close()
        await self.store.close()
        if self.db is not None:
            await self.db.dispose()
