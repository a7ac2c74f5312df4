"""The news service wired from settings (feeds, Naver keys, the largest companies to search)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.config import Settings
from aegis.domain.instruments import Instrument
from aegis.research.news.feeds import NAVER_URL, NaverKeys, parse_feed_list
from aegis.research.news.linker import Listed
from aegis.research.news.service import NewsConfig, NewsService


def naver_keys(settings: Settings) -> NaverKeys | None:
    from aegis.core.errors import AegisError
    from aegis.credentials.store import resolve

    try:
        creds = resolve(settings, "naver")
    except AegisError:
        return None  # an unreadable store is "no key", said plainly by the feed status
    return None if creds is None else NaverKeys(creds.app_key, creds.app_secret)


def build_news(
    settings: Settings, engine: AsyncEngine, instruments: Iterable[Instrument]
) -> NewsService:
    stocks = [i for i in instruments if i.kind == "stock"]
    largest = sorted(stocks, key=lambda i: -(i.shares or 0) * (i.prev_close or 0))
    config = NewsConfig(
        feeds=parse_feed_list(settings.news_rss_feeds),
        naver_keys=lambda: naver_keys(settings),
        naver_url=settings.naver_news_url or NAVER_URL,
        naver_queries=tuple(i.name for i in largest[: settings.news_naver_queries]),
        timeout=settings.news_timeout_seconds,
        poll_seconds=settings.news_poll_seconds,
    )
    return NewsService(engine, [Listed(i.symbol, i.name) for i in stocks], config)
