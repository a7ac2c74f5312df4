"""News collectors: RSS/Atom feeds of the Korean financial press (no key) and the Naver news
search API (client id/secret). Both keep only titles, links, press and dates."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import httpx
from pydantic import SecretStr

from aegis.core.errors import SourceError
from aegis.research.news.models import Incoming

KST = timezone(timedelta(hours=9))
MAX_FEED_BYTES = 4 * 1024 * 1024
_TAG = re.compile(r"<[^>]+>")


class FeedError(SourceError):
    """A feed or the Naver API could not be read; the message is safe to show (no keys)."""

    code = "NEWS_FEED_ERROR"


@dataclass(frozen=True, slots=True)
class Feed:
    name: str  # shown to users, e.g. "한국경제 증권"
    url: str


# Korean financial press RSS (no key needed). Overridable with AEGIS_NEWS_RSS_FEEDS
# ("name|url,name|url").
DEFAULT_FEEDS: tuple[Feed, ...] = (
    Feed("한국경제 증권", "https://www.hankyung.com/feed/finance"),
    Feed("매일경제 증권", "https://www.mk.co.kr/rss/50200011/"),
    Feed("연합뉴스 경제", "https://www.yna.co.kr/rss/economy.xml"),
    Feed("연합인포맥스", "https://news.einfomax.co.kr/rss/allArticle.xml"),
)


def parse_feed_list(text: str | None) -> tuple[Feed, ...]:
    if text is None:
        return DEFAULT_FEEDS
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, url = part.partition("|")
        url = url.strip() if sep else name.strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"news feed {part!r}: expected 'name|https://…'")
        out.append(Feed(name.strip() if sep else url, url))
    return tuple(out)


def clean_text(text: str | None) -> str:
    """Naver's ``<b>`` marks and HTML entities out; whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub("", text or "")).split())


def parse_date(text: str | None) -> int | None:
    """RFC 822 (RSS, Naver) or ISO 8601 (Atom) → epoch seconds; None when unreadable."""
    if not text:
        return None
    text = text.strip()
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:  # Korean feeds without a zone mean KST
        dt = dt.replace(tzinfo=KST)
    return int(dt.timestamp())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_rss(body: bytes, press: str | None = None) -> list[Incoming]:
    """RSS 2.0 ``<item>`` or Atom ``<entry>`` → articles; items without a title, link or a
    readable date are skipped (an undated item is not shown as news of some day)."""
    if b"<!ENTITY" in body[:4096]:
        raise FeedError("feed declares XML entities; refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise FeedError(f"malformed feed: {exc}") from None
    if _local(root.tag) not in ("rss", "feed", "RDF"):
        raise FeedError(f"not an RSS/Atom document (root <{_local(root.tag)}>)")
    out: list[Incoming] = []
    for el in root.iter():
        if _local(el.tag) not in ("item", "entry"):
            continue
        fields: dict[str, str] = {}
        link = ""
        for child in el:
            name = _local(child.tag)
            if name == "link":
                link = link or (child.get("href") or child.text or "").strip()
            elif name in ("title", "pubDate", "published", "updated", "date", "author", "creator"):
                fields.setdefault(name, (child.text or "").strip())
        title = clean_text(fields.get("title"))
        when = parse_date(
            fields.get("pubDate") or fields.get("published") or fields.get("date")
            or fields.get("updated")
        )  # fmt: skip
        if not title or not link.startswith(("http://", "https://")) or when is None:
            continue
        out.append(Incoming(title=title, url=link, published_at=when, press=press))
    return out


async def fetch_rss(client: httpx.AsyncClient, feed: Feed, seconds: float) -> list[Incoming]:
    try:
        async with client.stream(
            "GET", feed.url, timeout=seconds, follow_redirects=True,
            headers={"User-Agent": "AEGIS news collector", "Accept": "application/rss+xml, */*"},
        ) as resp:  # fmt: skip
            if resp.status_code != 200:
                raise FeedError(f"{feed.name}: HTTP {resp.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > MAX_FEED_BYTES:
                    raise FeedError(f"{feed.name}: feed larger than {MAX_FEED_BYTES} bytes")
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise FeedError(f"{feed.name}: timed out after {seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise FeedError(f"{feed.name}: {type(exc).__name__}: {exc}") from None
    return parse_rss(b"".join(chunks), press=feed.name.split(" ")[0])


# --- Naver news search API ---------------------------------------------------------------------

NAVER_URL = "https://openapi.naver.com/v1/search/news.json"


@dataclass(frozen=True, slots=True)
class NaverKeys:
    client_id: SecretStr
    client_secret: SecretStr

    def __repr__(self) -> str:
        return "NaverKeys(client_id=**********, client_secret=**********)"


async def naver_search(
    client: httpx.AsyncClient,
    keys: NaverKeys,
    query: str,
    *,
    display: int = 100,
    base_url: str = NAVER_URL,
    seconds: float = 10.0,
) -> list[Incoming]:
    """Newest ``display`` articles for ``query`` (sort=date)."""
    try:
        resp = await client.get(
            base_url,
            params={"query": query, "display": display, "start": 1, "sort": "date"},
            headers={
                "X-Naver-Client-Id": keys.client_id.get_secret_value(),
                "X-Naver-Client-Secret": keys.client_secret.get_secret_value(),
            },
            timeout=seconds,
        )
    except httpx.TimeoutException:
        raise FeedError(f"Naver 뉴스 검색: timed out after {seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise FeedError(f"Naver 뉴스 검색: {type(exc).__name__}") from None
    try:
        body = resp.json()
    except ValueError:
        if resp.status_code == 200:
            raise FeedError("Naver 뉴스 검색: HTTP 200, not JSON") from None
        body = (
            None  # the bodies of 401/429 are not documented (protocols.md §D): the status says it
        )
    if resp.status_code != 200:
        code = body.get("errorCode", "?") if isinstance(body, dict) else "?"
        msg = body.get("errorMessage", "") if isinstance(body, dict) else ""
        hint = " (키를 확인하세요: aegis credentials set naver)" if resp.status_code == 401 else ""
        raise FeedError(f"Naver 뉴스 검색: HTTP {resp.status_code} {code} {msg}{hint}".strip())
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise FeedError("Naver 뉴스 검색: response without items")
    out: list[Incoming] = []
    for it in items:
        if not isinstance(it, dict):
            continue
        title = clean_text(it.get("title"))
        original = str(it.get("originallink") or "").strip()
        link = str(it.get("link") or "").strip()
        when = parse_date(it.get("pubDate"))
        url = original or link
        if not title or not url.startswith(("http://", "https://")) or when is None:
            continue
        alt = (link,) if link and link != url else ()
        out.append(Incoming(title=title, url=url, published_at=when, alt_urls=alt))
    return out
