"""News: per company, per industry, full-text search, keyword frequency, feed status."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from aegis.api.deps import MarketDep, NewsDep, ResearchDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import ERROR_RESPONSES, Envelope, Wire
from aegis.core.errors import InvalidRequest
from aegis.core.timeutil import parse_instant
from aegis.research.news.models import Article
from aegis.research.news.service import FeedSummary
from aegis.services.market import Market

router = APIRouter(tags=["news"])
KST = timezone(timedelta(hours=9))
_WINDOW = re.compile(r"^(\d{1,4})([hdw])$")


class NewsCompany(Wire):
    company_id: int | None
    code: str
    name: str


class NewsItem(Wire):
    news_id: int
    title: str
    press: str | None
    url: str
    published_at: str  # ISO 8601, KST
    origin: Literal["archive", "rss", "naver"]
    feed: str  # e.g. "rss:한국경제 증권", "naver", "archive"
    companies: list[NewsCompany]


class FeedOut(Wire):
    name: str
    kind: str
    url: str | None
    last_attempt_at: str | None
    last_success_at: str | None
    last_error: str | None
    last_count: int
    total_count: int


class FeedState(Wire):
    live: bool
    last_success_at: str | None
    naver_configured: bool
    message: str


class NewsMeta(Wire):
    limit: int
    offset: int
    has_more: bool
    feeds: FeedState


class NewsEnvelope(Envelope[list[NewsItem]]):
    meta: NewsMeta


class KeywordOut(Wire):
    word: str
    count: int


class KeywordMeta(Wire):
    window: str
    from_: str
    to: str
    headlines: int
    feeds: FeedState


class KeywordEnvelope(Envelope[list[KeywordOut]]):
    meta: KeywordMeta


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, KST).isoformat()


def _item(a: Article, market: Market) -> dict[str, object]:
    companies = []
    for sym in a.symbols:
        inst = market.by_symbol.get(sym)
        if inst is not None:
            companies.append({"companyId": inst.company_id, "code": sym, "name": inst.name})
    return {
        "newsId": a.id,
        "title": a.title,
        "press": a.press,
        "url": a.url,
        "publishedAt": _iso(a.published_at),
        "origin": a.origin.split(":", 1)[0],
        "feed": a.origin,
        "companies": companies,
    }


def _feed_state(s: FeedSummary) -> dict[str, object]:
    return {
        "live": s.live,
        "lastSuccessAt": _iso(s.last_success_at),
        "naverConfigured": s.naver_configured,
        "message": s.message,
    }


async def _page(
    news: NewsDep, market: Market, found: list[Article], limit: int, offset: int, message: str
) -> JSONBytes:
    more = len(found) > limit
    meta = {
        "limit": limit,
        "offset": offset,
        "hasMore": more,
        "feeds": _feed_state(await news.summary()),
    }
    return ok([_item(a, market) for a in found[:limit]], message, meta)


Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=10_000)]


@router.get(
    "/companies/{company_id}/news",
    operation_id="getCompanyNews",
    response_model=NewsEnvelope,
    responses=ERROR_RESPONSES,
)
async def company_news(
    news: NewsDep, market: MarketDep, company_id: int, limit: Limit = 20, offset: Offset = 0
) -> JSONBytes:
    inst = market.company(company_id)
    found = await news.for_symbols([inst.symbol], limit + 1, offset)
    return await _page(news, market, found, limit, offset, "기업 뉴스를 조회하였습니다.")


@router.get(
    "/industries/{industry_id}/news",
    operation_id="getIndustryNews",
    response_model=NewsEnvelope,
    responses=ERROR_RESPONSES,
)
async def industry_news(
    news: NewsDep,
    market: MarketDep,
    research: ResearchDep,
    industry_id: int,
    limit: Limit = 20,
    offset: Offset = 0,
) -> JSONBytes:
    ind = research.industries.get(industry_id)
    found = await news.for_symbols(ind.symbols, limit + 1, offset)
    return await _page(
        news, market, found, limit, offset, f"{ind.name} 산업 뉴스를 조회하였습니다."
    )


def _bound(name: str, text: str | None, *, end: bool) -> int | None:
    if not text:
        return None
    try:
        us = parse_instant(text)
    except ValueError:
        raise InvalidRequest(
            f"{name}={text!r} is not a time: use a date (2026-02-10, KST), ISO 8601 "
            "or epoch seconds"
        ) from None
    sec = us // 1_000_000
    # a bare date as the end means the whole of that KST day; parse_instant reads a date as
    # ten characters that are not all digits (ten-digit epoch seconds are an instant)
    t = text.strip()
    return sec + 86_400 if end and len(t) == 10 and not t.lstrip("-").isdigit() else sec


@router.get(
    "/news",
    operation_id="searchNews",
    response_model=NewsEnvelope,
    responses=ERROR_RESPONSES,
)
async def search_news(
    news: NewsDep,
    market: MarketDep,
    q: Annotated[str | None, Query(max_length=100, description="검색어 (한국어 부분 일치)")] = None,
    from_: Annotated[str | None, Query(alias="from", description="2026-02-01 (KST) or ISO")] = None,
    to: Annotated[str | None, Query(description="inclusive day or ISO instant")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> JSONBytes:
    lo, hi = _bound("from", from_, end=False), _bound("to", to, end=True)
    if lo is not None and hi is not None and lo >= hi:
        raise InvalidRequest("from must be before to")
    if q is not None and q.strip() and not any(ch.isalnum() for ch in q):
        raise InvalidRequest("q must contain letters or digits")
    found = await news.search(q, lo, hi, limit + 1, offset)
    return await _page(news, market, found, limit, offset, "뉴스 검색을 완료하였습니다.")


@router.get(
    "/news/keywords",
    operation_id="getNewsKeywords",
    response_model=KeywordEnvelope,
    responses=ERROR_RESPONSES,
)
async def news_keywords(
    news: NewsDep,
    window: Annotated[str, Query(description="24h, 7d, 30d, 4w … (at most 366 days)")] = "7d",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    to: Annotated[
        str | None, Query(description="window end; default now or the newest headline")
    ] = None,
) -> JSONBytes:
    m = _WINDOW.match(window)
    if m is None:
        raise InvalidRequest(f"window={window!r}: use <n>h, <n>d or <n>w, e.g. 7d")
    seconds = int(m.group(1)) * {"h": 3600, "d": 86_400, "w": 7 * 86_400}[m.group(2)]
    if not 3600 <= seconds <= 366 * 86_400:
        raise InvalidRequest("window must be between 1h and 366d")
    until = _bound("to", to, end=True)
    found, n, lo, hi = await news.keywords(seconds, limit, until)
    meta = {
        "window": window,
        "from": _iso(lo),
        "to": _iso(hi),
        "headlines": n,
        "feeds": _feed_state(await news.summary()),
    }
    data = [{"word": k.word, "count": k.count} for k in found]
    return ok(data, "뉴스 키워드 빈도를 조회하였습니다.", meta)


@router.get(
    "/news/feeds",
    operation_id="getNewsFeeds",
    response_model=Envelope[list[FeedOut]],
    responses=ERROR_RESPONSES,
)
async def news_feeds(news: NewsDep) -> JSONBytes:
    s = await news.summary()
    configured = {f"rss:{f.name}": f.url for f in news.config.feeds}
    seen = {f.name for f in s.feeds}
    rows = [
        {
            "name": f.name,
            "kind": f.kind,
            "url": f.url,
            "lastAttemptAt": _iso(f.last_attempt_at),
            "lastSuccessAt": _iso(f.last_success_at),
            "lastError": f.last_error,
            "lastCount": f.last_count,
            "totalCount": f.total_count,
        }
        for f in s.feeds
    ]
    # configured feeds not tried yet are listed too, so the page can show them
    for name, url in configured.items():
        if name not in seen:
            rows.append({"name": name, "kind": "rss", "url": url, "lastAttemptAt": None,
                         "lastSuccessAt": None, "lastError": None, "lastCount": 0,
                         "totalCount": 0})  # fmt: skip
    return ok(rows, _feed_state(s)["message"])  # type: ignore[arg-type]


__all__ = ["UTC", "router"]
