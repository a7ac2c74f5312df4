"""Everything a running AEGIS process holds, wired from settings: store, bus, market, stream hub,
and (when this process ingests) the ingest service and its sources. No HTTP here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.accounts.service import SESSION_REFRESH_AHEAD, SESSION_TTL_SECONDS, Accounts
from aegis.bus.base import Bus, start_when_reachable
from aegis.bus.memory import MemoryBus
from aegis.cache import CacheRegistry
from aegis.core.config import Settings
from aegis.core.timeutil import now_us
from aegis.domain.instruments import Instrument
from aegis.domain.sources import HISTORY_SOURCES
from aegis.domain.ticks import Tick
from aegis.research.service import Research
from aegis.services.ingest import IngestService
from aegis.services.journal import TickJournal
from aegis.services.leader import FileLeadership, Leadership, PostgresLeadership
from aegis.services.market import Market
from aegis.services.stream import StreamHub
from aegis.services.watch import WatchCollector, WatchReporter
from aegis.sources.base import RESUME_WINDOW_US, Source, SourceState
from aegis.store.base import Store

if TYPE_CHECKING:
    from aegis.research.analysis.service import AnalysisService
    from aegis.research.news.service import NewsService
    from aegis.trading.lease import TradingLease
    from aegis.trading.service import TradingService

log = logging.getLogger(__name__)


def make_store(settings: Settings) -> Store:
    if settings.database_url and not settings.sim_replay:  # a replay keeps to its own file
        from aegis.store.postgres import PostgresStore

        return PostgresStore(settings.database_url)
    from aegis.store.sqlite import SQLiteStore

    return SQLiteStore(settings.sqlite_path)


def make_bus(settings: Settings) -> Bus:
    if settings.redis_url and not settings.sim_replay:  # API processes serving real data
        # must never receive a replay's ticks
        from aegis.bus.redis import RedisBus

        return RedisBus(settings.redis_url)
    return MemoryBus()


def make_leadership(settings: Settings) -> Leadership:
    if settings.database_url and not settings.sim_replay:  # a replay has its own file
        return PostgresLeadership(
            settings.database_url, lease_seconds=settings.ingest_lease_seconds
        )
    # one lock per store file: the simulator's and a broker's stores may be fed side by side
    return FileLeadership(settings.sqlite_path.with_name(settings.sqlite_path.name + ".lock"))


def journal_dir(settings: Settings) -> Path:
    """The ingester's tick journal, beside its store (local disk in server mode too)."""
    store = "postgres" if settings.store_url.startswith("postgres") else settings.sqlite_path.stem
    return settings.data_dir / "journal" / store


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
        trading: bool = True,
    ) -> None:
        self.settings = settings
        self.store = store or make_store(settings)
        # the application database (accounts, research, trading); opened in start()
        self.db: AsyncEngine | None = None
        self.accounts: Accounts | None = None
        self.bus = bus or make_bus(settings)
        self._given_sources = sources
        self.ingesting = settings.ingest if ingest is None else ingest
        self.sources: list[Source] = []
        self.ingest: IngestService | None = None
        self.market: Market | None = None
        self.hub: StreamHub | None = None
        self.research: Research | None = None
        self.caches: CacheRegistry | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.watch_reporter: WatchReporter | None = None
        self.watch_collector: WatchCollector | None = None
        self.leadership: Leadership | None = None
        self.started = time.time()
        self.retention_ran: int | None = None  # UTC µs of this process's last retention pass
        self.trading: TradingService | None = None  # orders, portfolios, safety (aegis.trading)
        # trading runs only in the process holding the trading lease (API processes only)
        self.runs_trading = trading
        self.trading_lease: TradingLease | None = None
        self.news: NewsService | None = None  # news-ai: set in start()
        self.analysis: AnalysisService | None = None  # news-ai: set in start()

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.close()  # nothing left half-open after a failed start
            raise

    async def _start(self) -> None:
        from aegis.db import create_app_engine

        self.db = create_app_engine(self.settings.app_db_url)
        self.caches = CacheRegistry(self.bus, self.settings.redis_url)
        # first: server mode without a strong secret refuses to start before opening anything
        self.accounts = Accounts.from_settings(
            self.settings,
            self.db,
            self.caches.cache(
                "accounts",
                ttl_seconds=SESSION_TTL_SECONDS,
                max_entries=20_000,
                shared=False,
                refresh_ahead=SESSION_REFRESH_AHEAD,
            ),
        )
        if self.ingesting:
            # a second ingester waits here, connected and ready, until the leader dies
            self.leadership = make_leadership(self.settings)
            await self.leadership.acquire()
            self._tasks.append(asyncio.create_task(self._fence(), name="leadership"))
            from aegis.store.postgres import PostgresStore

            # the store's sessions carry the epoch: PostgreSQL refuses their writes once a
            # standby took over (migration 0010)
            if isinstance(self.leadership, PostgresLeadership) and isinstance(
                self.store, PostgresStore
            ):
                self.store.use_session_settings(self.leadership.session_settings())
        await self.store.start()
        await start_when_reachable(self.bus)
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
        self.research = Research(self.settings, self.db, self.market, self.caches.cache("research"))
        await self.caches.start()
        await self.research.start(refresh=self.ingesting)
        market = self.market
        # after ticks were lost on the bus, live candles and quotes are rebuilt from the store
        self.hub = StreamHub(self.bus, market, resync=lambda: market.restore_live(anew=True))
        await self.hub.start()
        if self.ingesting:
            # listening before any report is published: the first client's watch is not lost
            self.watch_collector = WatchCollector(self.bus, sources)
            await self.watch_collector.start()
        self.watch_reporter = WatchReporter(
            self.bus, self.hub, self.settings.ws_watch_votes_per_client
        )
        self.watch_reporter.start()
        if self.runs_trading:
            from aegis.trading.lease import TradingLease
            from aegis.trading.runtime import start_trading

            db, market, hub = self.db, self.market, self.hub
            self.trading_lease = TradingLease(
                self.settings,
                lambda: start_trading(self.settings, db, market, hub),
                lambda svc: setattr(self, "trading", svc),
            )
            await self.trading_lease.start()
        if self.ingesting:
            self.ingest = IngestService(
                self.store,
                self.bus,
                known_symbols=set(self.market.by_symbol),
                journal=TickJournal(journal_dir(self.settings)),
                krx_symbols=self.market.krx_symbols(),
                fence=self.leadership.ensure_leading if self.leadership is not None else None,
            )
            await self.ingest.start()
            self.sources = sources
            point = self.ingest.resume_point()
            recent: dict[str, list[Tick]] | None = None
            for src in sources:
                resume = getattr(src, "resume_from", None)
                if point is not None and resume is not None:
                    resume(*point)
                if type(src).resume_after is not Source.resume_after:
                    # brokers fill what was missed while no process ingested
                    if recent is None:
                        recent = await self._recently_stored()
                    src.resume_after(recent)
                self._tasks.append(
                    asyncio.create_task(self._run_source(src), name=f"source-{src.name}")
                )
            if not self.settings.sim_replay:
                # a replay writes ticks stamped on a past day: retention would remove them
                self._tasks.append(asyncio.create_task(self._retention_loop(), name="retention"))
        self._start_news()

    async def _recently_stored(self) -> dict[str, list[Tick]]:
        """Each symbol's stored ticks of the resume window. Read from the ticks themselves, not
        from the restored candles: off-hours trades are in no candle."""
        assert self.market is not None
        now = now_us()
        out: dict[str, list[Tick]] = {}
        for sym in self.market.by_symbol:  # one index range per symbol
            ticks = await self.store.get_ticks(sym, now - RESUME_WINDOW_US, now + 1)
            if ticks:
                out[sym] = ticks
        return out

    def _start_news(self) -> None:
        """News and AI outlook (news-ai): the services every process answers from; the
        ingesting process also collects feeds on a timer."""
        from aegis.research.analysis.setup import build_analysis
        from aegis.research.news.setup import build_news

        assert self.db is not None and self.market is not None
        self.news = build_news(self.settings, self.db, self.market.by_symbol.values())
        self.analysis = build_analysis(self.settings, self.db, self.market, self.news)
        if self.ingesting and self.settings.news_poll_seconds > 0:
            self._tasks.append(asyncio.create_task(self.news.run(), name="news"))

    async def _seed_history(self, sources: list[Source], instruments: list[Instrument]) -> None:
        from aegis.services.history_seed import real_anchors, seed_real_history, seed_sim_history

        replay = self.settings.sim_replay
        simulating = any(s.name == "sim" for s in sources) and not replay
        missing: list[date] = []
        if simulating:
            from aegis.services.history_seed import sessions_without_minutes
            from aegis.sources.sim.calendar import first_session

            day, _ = first_session(now_us(), self.settings.sim_speed)
            for src in sources:  # the day the simulator plays, by its own clock (a bench's)
                if (session_day := getattr(src, "session_day", None)) is not None:
                    day = session_day()
            count = self.settings.sim_history_sessions
            # (the daily seeding below stores no 1-minute candle: it does not change this)
            missing = await sessions_without_minutes(self.store, day, count) if count else []
            if missing:
                for src in sources:  # its child process starts while the history is seeded
                    if (early := getattr(src, "start_session_maker", None)) is not None:
                        early()
        # a replay's store holds real history up to the day before the replayed day only:
        # quotes and change % are those of that day, and no later price shows beside it
        await seed_real_history(
            self.store, instruments, before=date.fromisoformat(replay) if replay else None
        )
        if simulating:
            anchors = await real_anchors(self.store, [i.symbol for i in instruments])
            for src in sources:  # the sim chains from each stock's last real daily close
                if (use := getattr(src, "use_anchors", None)) is not None:
                    use(anchors)
            from aegis.sources.sim.history import Staging
            from aegis.store.sqlite import SQLiteStore

            # SQLite: the simulator's child process stages them as rows that the store copies in
            # (in C); otherwise they reach the store through the ingest service as candles
            staging = None
            if isinstance(self.store, SQLiteStore):
                known = frozenset(i.symbol for i in await self.store.list_instruments())
                staging = Staging(self.store.path.parent, self.store.load_staged, known)
            for src in sources:  # made in the background from now on
                if (fill := getattr(src, "fill_sessions", None)) is not None:
                    fill(missing, staging)
            await seed_sim_history(self.store, instruments, self.settings.sim_seed, day, anchors)

    async def _restore_live(self, market: Market) -> None:
        await market.restore_live()

    async def readiness(self) -> dict[str, dict[str, object]]:
        """Whether this process can serve: store reachable, bus connected, no source failed.
        Each check says ``ok`` and why not."""
        checks: dict[str, dict[str, object]] = {}
        try:
            await self.store.get_candle("__readyz__", "1d", 0)  # one indexed read
            checks["store"] = {"ok": True, "kind": self.store.kind}
        except Exception as exc:
            checks["store"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
        bus = self.bus.describe()
        checks["bus"] = {"ok": bool(bus.get("connected", True)), "kind": bus.get("kind")}
        failed = [s.name for s in self.sources if s.status.state == SourceState.FAILED]
        checks["sources"] = {"ok": not failed, "failed": failed}
        checks["market"] = {"ok": self.market is not None and self.hub is not None}
        return checks

    async def leadership_status(self) -> dict[str, object]:
        """Leader and standbys of the ingest lock, as seen from this process."""
        from aegis.services.leader import node_name, observe_file, observe_postgres

        lock = make_leadership(self.settings)
        if isinstance(lock, PostgresLeadership):
            seen = await observe_postgres(lock.url)
        else:
            assert isinstance(lock, FileLeadership)
            seen = observe_file(lock.path)
        if self.leadership is None:
            role = "api"
        else:
            role = self.leadership.describe()["role"]
            if role == "leader":
                seen["leader"] = node_name()
        return {**seen, "thisProcess": role}

    async def _fence(self) -> None:
        """Lost the ingest lock: a standby may already lead, so stop writing at once (pending
        ticks are dropped, not flushed: the new leader resumes from the store) and end the
        process; its supervisor starts it again as a standby."""
        assert self.leadership is not None
        await self.leadership.lost.wait()
        me = asyncio.current_task()
        for t in self._tasks:
            if t is not me:
                t.cancel()
        if self.ingest is not None:
            self.ingest.abandon()
            self.ingest = None
        os.kill(os.getpid(), signal.SIGTERM)

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
        if self.research is not None:
            await self.research.close()
        if self.caches is not None:
            await self.caches.close()
        if self.watch_reporter is not None:
            await self.watch_reporter.close()
        if self.watch_collector is not None:
            await self.watch_collector.close()
        if self.ingest is not None:
            await self.ingest.close()
        if self.trading_lease is not None:
            await self.trading_lease.close()  # closes the trading service it started
        elif self.trading is not None:
            await self.trading.close()
        if self.hub is not None:
            await self.hub.close()
        await self.bus.close()
        await self.store.close()
        if self.leadership is not None:
            await self.leadership.release()  # after the last write
        if self.accounts is not None:
            await self.accounts.close()
        if self.db is not None:
            await self.db.dispose()
