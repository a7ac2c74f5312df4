"""News for the API: the archive seeded once, collectors run on a timer, queries with an honest
account of which feeds work."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research.news.archive import ORIGIN as ARCHIVE_ORIGIN
from aegis.research.news.archive import load_archive
from aegis.research.news.feeds import (
    NAVER_URL,
    Feed,
    FeedError,
    NaverKeys,
    fetch_rss,
    naver_search,
)
from aegis.research.news.linker import Linker, Listed
from aegis.research.news.models import Article, FeedStatus, Keyword
from aegis.research.news.store import NewsStore

log = logging.getLogger(__name__)

DAY = 86_400
LIVE_WITHIN = 2 * DAY  # a feed that worked this recently counts as live


@dataclass(frozen=True, slots=True)
class NewsConfig:
    feeds: tuple[Feed, ...]
    naver_keys: Callable[[], NaverKeys | None] = lambda: None
    naver_url: str = NAVER_URL
    naver_queries: tuple[str, ...] = ()  # company names searched each round
    timeout: float = 10.0
    poll_seconds: float = 900.0


@dataclass(frozen=True, slots=True)
class FeedSummary:
    """What the pages say about freshness: live feeds, or why there are none."""

    live: bool
    last_success_at: int | None
    naver_configured: bool
    feeds: list[FeedStatus] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.live:
            return "뉴스 피드가 정상적으로 수집되고 있습니다."
        tried = [f for f in self.feeds if f.kind != "archive" and f.last_attempt_at]
        if not tried:
            why = "아직 뉴스 피드를 수집하지 않았습니다."
        else:
            # collector errors already start with the feed's name
            why = (
                "뉴스 피드에 연결할 수 없습니다 ("
                + "; ".join(f.last_error or f"{f.name}: 응답 없음" for f in tried[:3])
                + ")."
            )
        fix = " 인터넷 연결을 확인하세요 (RSS는 키 없이 동작합니다)."
        if not self.naver_configured:
            fix += " Naver 뉴스 검색을 쓰려면 `aegis credentials set naver`로 키를 등록하세요."
        return why + fix + " 아래는 저장된 실제 헤드라인(2025–2026 아카이브)입니다."


class NewsService:
    def __init__(
        self, engine: AsyncEngine, companies: Iterable[Listed], config: NewsConfig
    ) -> None:
        self.store = NewsStore(engine)
        self.config = config
        self.linker = Linker(companies)
        self._seed_lock = asyncio.Lock()
        self._seeded = False
        self._collect_lock = asyncio.Lock()
        self._naver_checked: tuple[float, bool] = (-1e9, False)

    # --- archive -----------------------------------------------------------------------------
    async def ensure_seeded(self) -> None:
        if self._seeded:
            return
        async with self._seed_lock:
            if self._seeded:
                return
            items = await asyncio.to_thread(load_archive)
            n = await self.store.bulk_seed(items, ARCHIVE_ORIGIN, self.linker)
            if n:
                log.info("seeded %d archived headlines", n)
            self._seeded = True

    # --- collection ----------------------------------------------------------------------------
    async def collect_once(self, client: httpx.AsyncClient | None = None) -> dict[str, int | str]:
        """One round over every RSS feed and (with keys) the Naver queries. Each source's
        outcome is recorded; one failing never stops the others. Returns new counts/errors."""
        await self.ensure_seeded()
        own = client is None
        client = client or httpx.AsyncClient()
        result: dict[str, int | str] = {}
        try:
            async with self._collect_lock:
                for feed in self.config.feeds:
                    name = f"rss:{feed.name}"
                    try:
                        items = await fetch_rss(client, feed, self.config.timeout)
                        n = await self.store.add(items, name, self.linker)
                    except FeedError as exc:
                        await self.store.record_feed(name, "rss", feed.url, error=exc.message)
                        result[name] = exc.message
                        continue
                    await self.store.record_feed(name, "rss", feed.url, count=n)
                    result[name] = n
                keys = self.config.naver_keys()
                if keys is not None and self.config.naver_queries:
                    result["naver"] = await self._collect_naver(client, keys)
        finally:
            if own:
                await client.aclose()
        return result

    async def _collect_naver(self, client: httpx.AsyncClient, keys: NaverKeys) -> int | str:
        total = 0
        try:
            for query in self.config.naver_queries:
                items = await naver_search(
                    client,
                    keys,
                    query,
                    base_url=self.config.naver_url,
                    seconds=self.config.timeout,
                )
                total += await self.store.add(items, "naver", self.linker)
        except FeedError as exc:
            await self.store.record_feed("naver", "naver", self.config.naver_url, error=exc.message)
            return exc.message
        await self.store.record_feed("naver", "naver", self.config.naver_url, count=total)
        return total

    async def run(self, seed_after: float = 10.0, first_poll: float = 30.0) -> None:
        """Seed the archive soon after start (so the first news page does not wait for it;
        seeding takes seconds), then collect every ``poll_seconds`` until cancelled."""
        await asyncio.sleep(seed_after)
        try:
            await self.ensure_seeded()
        except Exception:
            log.exception("news archive seeding failed")
        await asyncio.sleep(max(0.0, first_poll - seed_after))
        while True:
            try:
                await self.collect_once()
            except Exception:
                log.exception("news collection failed")
            await asyncio.sleep(self.config.poll_seconds)

    # --- reading -------------------------------------------------------------------------------
    async def summary(self) -> FeedSummary:
        feeds = await self.store.feeds()
        now = int(time.time())
        live_times = [
            f.last_success_at
            for f in feeds
            if f.kind != "archive" and f.last_success_at and now - f.last_success_at <= LIVE_WITHIN
        ]
        last = max((f.last_success_at or 0 for f in feeds if f.kind != "archive"), default=0)
        return FeedSummary(
            live=bool(live_times),
            last_success_at=last or None,
            naver_configured=self._naver_configured(),
            feeds=feeds,
        )

    def _naver_configured(self) -> bool:
        """Whether Naver keys exist; the credential store is read at most once a minute
        (every news response reports it)."""
        at, known = self._naver_checked
        now = time.monotonic()
        if now - at > 60:
            known = self.config.naver_keys() is not None
            self._naver_checked = (now, known)
        return known

    async def for_symbols(
        self, symbols: Sequence[str], limit: int, offset: int = 0
    ) -> list[Article]:
        await self.ensure_seeded()
        return await self.store.for_symbols(symbols, limit, offset)

    async def search(
        self, q: str | None, lo: int | None, hi: int | None, limit: int, offset: int = 0
    ) -> list[Article]:
        await self.ensure_seeded()
        return await self.store.search(q, lo, hi, limit, offset)

    async def keywords(
        self, window_seconds: int, limit: int, until: int | None = None
    ) -> tuple[list[Keyword], int, int, int]:
        """Keywords of the ``window`` ending at ``until`` — by default now, or, when nothing
        was published in the window (offline: only the archive), the newest stored headline.
        Returns (keywords, headlines counted, from, to)."""
        await self.ensure_seeded()
        hi = until if until is not None else int(time.time()) + 1
        found, n = await self.store.keywords(hi - window_seconds, hi, limit)
        if n == 0 and until is None:
            latest = await self.store.latest_time()
            if latest is not None:
                hi = latest + 1
                found, n = await self.store.keywords(hi - window_seconds, hi, limit)
        return found, n, hi - window_seconds, hi
