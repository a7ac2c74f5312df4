"""News values passed between collectors, the store and the API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Incoming:
    """An article as a collector found it: title and links only (no publisher text kept)."""

    title: str
    url: str
    published_at: int  # epoch seconds, UTC
    press: str | None = None
    alt_urls: tuple[str, ...] = ()  # other links to the same article (Naver's own page)
    nouns: tuple[str, ...] | None = None  # precomputed (the shipped archive); None = analyse


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    title: str
    url: str
    press: str | None
    published_at: int
    origin: str
    symbols: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class FeedStatus:
    name: str
    kind: str  # rss | naver | archive
    url: str | None
    last_attempt_at: int | None
    last_success_at: int | None
    last_error: str | None
    last_count: int
    total_count: int


@dataclass(frozen=True, slots=True)
class Keyword:
    word: str
    count: int
