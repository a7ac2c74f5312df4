"""News storage on the application database (SQLAlchemy Core, SQLite and PostgreSQL): dedup by
normalised URL, company links, full-text search (FTS5 / PostgreSQL tsvector), keyword counts."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aegis.research.news import tables as t
from aegis.research.news.linker import Linker
from aegis.research.news.models import Article, FeedStatus, Incoming, Keyword
from aegis.research.news.text import index_terms, nouns, query_terms
from aegis.research.news.urls import normalise_url

_COLS = (
    t.articles.c.id,
    t.articles.c.title,
    t.articles.c.url,
    t.articles.c.press,
    t.articles.c.published_at,
    t.articles.c.origin,
)


SEED_CHUNK = 500  # articles per seed transaction: each holds SQLite's write lock briefly
SEED_STALE_S = 600  # an incomplete archive claim this old was left by a crash: resume it


def _keys(item: Incoming) -> list[str]:
    seen: dict[str, None] = {}
    for u in (item.url, *item.alt_urls):
        if u:
            seen.setdefault(normalise_url(u), None)
    return list(seen)


def _prepare_archive(
    items: Sequence[Incoming], linker: Linker, origin: str, now: int
) -> list[tuple[dict[str, object], list[str], list[str]]]:
    """(article row without id, URL keys, linked symbols) per headline: the CPU part of seeding."""
    out: list[tuple[dict[str, object], list[str], list[str]]] = []
    for item in items:
        keys = _keys(item)
        if not keys:
            continue
        words = item.nouns or ()
        row: dict[str, object] = {
            "url": item.url,
            "title": item.title,
            "press": item.press,
            "published_at": item.published_at,
            "collected_at": now,
            "origin": origin,
            "nouns": " ".join(words),
            "terms": index_terms(item.title, words),
        }
        out.append((row, keys, list(linker.link(item.title))))
    return out


class NewsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    # --- writing ---------------------------------------------------------------------------
    async def add(self, items: Sequence[Incoming], origin: str, linker: Linker) -> int:
        """Store new articles; one already known by any of its URLs is skipped (its other URLs
        are remembered). Returns how many were new."""
        if not items:
            return 0
        need = [i for i in items if i.nouns is None]
        analysed = dict(zip((id(i) for i in need), nouns([i.title for i in need]), strict=True))
        now = int(time.time())
        added = 0
        async with self.engine.begin() as conn:
            for item in items:
                keys = _keys(item)
                if not keys or not item.title.strip():
                    continue
                known = (
                    await conn.execute(
                        sa.select(t.urls.c.url_key, t.urls.c.article_id).where(
                            t.urls.c.url_key.in_(keys)
                        )
                    )
                ).all()
                if known:
                    have = {k for k, _ in known}
                    article_id = known[0][1]
                    await self._insert_keys(conn, [k for k in keys if k not in have], article_id)
                    continue
                words = item.nouns if item.nouns is not None else analysed[id(item)]
                article_id = (
                    await conn.execute(
                        t.articles.insert()
                        .values(
                            url=item.url,
                            title=item.title,
                            press=item.press,
                            published_at=item.published_at,
                            collected_at=now,
                            origin=origin,
                            nouns=" ".join(words),
                            terms=index_terms(item.title, words),
                        )
                        .returning(t.articles.c.id)
                    )
                ).scalar_one()
                await self._insert_keys(conn, keys, article_id)
                symbols = linker.link(item.title)
                if symbols:
                    await conn.execute(
                        t.links.insert(),
                        [
                            {
                                "article_id": article_id,
                                "symbol": s,
                                "published_at": item.published_at,
                            }
                            for s in symbols
                        ],
                    )
                added += 1
        return added

    @staticmethod
    async def _insert_keys(conn: AsyncConnection, keys: list[str], article_id: int) -> None:
        if keys:
            await conn.execute(
                t.urls.insert(), [{"url_key": k, "article_id": article_id} for k in keys]
            )

    async def bulk_seed(self, items: Sequence[Incoming], origin: str, linker: Linker) -> int:
        """The shipped archive, once per database. Returns 0 when already seeded.

        The ``archive`` feed row is the claim (``last_success_at`` set when complete), so
        concurrent processes seed it once; a claim left incomplete by a crash for
        ``SEED_STALE_S`` is taken over and the seed resumes (stored URLs are skipped). The
        per-headline work (URL keys, search terms, company links) runs in a worker thread, and
        rows go in in chunks of ``SEED_CHUNK`` articles, one short transaction each: SQLite has
        one writer, and logins waiting behind one long seed transaction failed with "database is
        locked" right after start."""
        now = int(time.time())
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(t.feeds.c.last_attempt_at, t.feeds.c.last_success_at).where(
                        t.feeds.c.name == "archive"
                    )
                )
            ).first()
            if row is None:
                try:
                    await conn.execute(
                        t.feeds.insert().values(
                            name="archive",
                            kind="archive",
                            url=None,
                            last_attempt_at=now,
                            last_success_at=None,
                            last_count=0,
                            total_count=0,
                        )
                    )
                except IntegrityError:
                    return 0
            elif row.last_success_at is not None or now - (row.last_attempt_at or 0) < SEED_STALE_S:
                return 0  # seeded, or another process is seeding
            else:
                taken_over = await conn.execute(
                    t.feeds.update()
                    .where(t.feeds.c.name == "archive")
                    .where(t.feeds.c.last_attempt_at == row.last_attempt_at)
                    .values(last_attempt_at=now)
                )
                if taken_over.rowcount != 1:
                    return 0
        prepared = await asyncio.to_thread(_prepare_archive, items, linker, origin, now)
        added = 0
        for i in range(0, len(prepared), SEED_CHUNK):
            added += await self._seed_chunk(prepared[i : i + SEED_CHUNK])
        async with self.engine.begin() as conn:
            await conn.execute(
                t.feeds.update()
                .where(t.feeds.c.name == "archive")
                .values(
                    last_success_at=int(time.time()),
                    last_count=len(items),
                    total_count=len(items),
                )
            )
        return added

    async def _seed_chunk(
        self, chunk: Sequence[tuple[dict[str, object], list[str], list[str]]]
    ) -> int:
        async with self.engine.begin() as conn:
            # a collector (or an interrupted earlier seed) may already have stored some URLs
            wanted = [k for _, keys, _ in chunk for k in keys]
            taken = {
                r[0]
                for r in await conn.execute(
                    sa.select(t.urls.c.url_key).where(t.urls.c.url_key.in_(wanted))
                )
            }
            next_id = (await conn.execute(sa.select(sa.func.max(t.articles.c.id)))).scalar() or 0
            rows: list[dict[str, object]] = []
            key_rows: list[dict[str, object]] = []
            link_rows: list[dict[str, object]] = []
            for row, keys, symbols in chunk:
                if taken.intersection(keys):
                    continue
                taken.update(keys)
                next_id += 1
                rows.append({"id": next_id, **row})
                key_rows.extend({"url_key": k, "article_id": next_id} for k in keys)
                link_rows.extend(
                    {"article_id": next_id, "symbol": s, "published_at": row["published_at"]}
                    for s in symbols
                )
            for table, batch in ((t.articles, rows), (t.urls, key_rows), (t.links, link_rows)):
                if batch:
                    await conn.execute(table.insert(), batch)
            if self.postgres and rows:
                await conn.execute(
                    sa.text(
                        "SELECT setval(pg_get_serial_sequence('news_articles', 'id'), "
                        "(SELECT max(id) FROM news_articles))"
                    )
                )
            return len(rows)

    async def record_feed(
        self, name: str, kind: str, url: str | None, *, count: int = 0, error: str | None = None
    ) -> None:
        now = int(time.time())
        async with self.engine.begin() as conn:
            row = (await conn.execute(sa.select(t.feeds).where(t.feeds.c.name == name))).first()
            values: dict[str, object] = {"kind": kind, "url": url, "last_attempt_at": now}
            if error is None:
                values |= {"last_success_at": now, "last_error": None, "last_count": count}
            else:
                values |= {"last_error": error[:500]}
            if row is None:
                values |= {"total_count": count if error is None else 0}
                await conn.execute(t.feeds.insert().values(name=name, **values))
            else:
                if error is None:
                    values["total_count"] = t.feeds.c.total_count + count
                await conn.execute(t.feeds.update().where(t.feeds.c.name == name).values(**values))

    # --- reading ---------------------------------------------------------------------------
    async def feeds(self) -> list[FeedStatus]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.feeds).order_by(t.feeds.c.name))).all()
        return [
            FeedStatus(
                r.name,
                r.kind,
                r.url,
                r.last_attempt_at,
                r.last_success_at,
                r.last_error,
                r.last_count,
                r.total_count,
            )
            for r in rows
        ]

    async def _with_symbols(self, conn: AsyncConnection, rows: Iterable[Any]) -> list[Article]:
        rows = list(rows)
        ids = [r.id for r in rows]
        by_id: dict[int, list[str]] = {}
        if ids:
            found = await conn.execute(
                sa.select(t.links.c.article_id, t.links.c.symbol).where(
                    t.links.c.article_id.in_(ids)
                )
            )
            for aid, sym in found:
                by_id.setdefault(aid, []).append(sym)
        return [
            Article(
                r.id,
                r.title,
                r.url,
                r.press,
                r.published_at,
                r.origin,
                tuple(sorted(by_id.get(r.id, ()))),
            )
            for r in rows
        ]

    async def for_symbols(
        self, symbols: Sequence[str], limit: int, offset: int = 0
    ) -> list[Article]:
        """Newest first, each article once."""
        if not symbols:
            return []
        ids = (
            sa.select(t.links.c.article_id)
            .where(t.links.c.symbol.in_(list(symbols)))
            .distinct()
            .scalar_subquery()
        )
        q = (
            sa.select(*_COLS)
            .where(t.articles.c.id.in_(ids))
            .order_by(t.articles.c.published_at.desc(), t.articles.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self.engine.connect() as conn:
            return await self._with_symbols(conn, await conn.execute(q))

    async def search(
        self, q: str | None, lo: int | None, hi: int | None, limit: int, offset: int = 0
    ) -> list[Article]:
        """Full text: every term of ``q`` must occur (Korean bigrams/words); newest first."""
        stmt = sa.select(*_COLS)
        terms = query_terms(q) if q else []
        if terms:
            if self.postgres:
                stmt = stmt.where(
                    sa.func.to_tsvector(sa.literal_column("'simple'"), t.articles.c.terms).op("@@")(
                        sa.func.plainto_tsquery(sa.literal_column("'simple'"), " ".join(terms))
                    )
                )
            else:
                match = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
                fts = sa.text("SELECT rowid FROM news_fts WHERE news_fts MATCH :m").bindparams(
                    m=match
                )
                stmt = stmt.where(t.articles.c.id.in_(fts))
        if lo is not None:
            stmt = stmt.where(t.articles.c.published_at >= lo)
        if hi is not None:
            stmt = stmt.where(t.articles.c.published_at < hi)
        stmt = stmt.order_by(t.articles.c.published_at.desc(), t.articles.c.id.desc())
        async with self.engine.connect() as conn:
            rows = await conn.execute(stmt.limit(limit).offset(offset))
            return await self._with_symbols(conn, rows)

    async def latest_time(self) -> int | None:
        async with self.engine.connect() as conn:
            got = await conn.execute(sa.select(sa.func.max(t.articles.c.published_at)))
            value = got.scalar()
            return None if value is None else int(value)

    async def keywords(self, lo: int, hi: int, limit: int) -> tuple[list[Keyword], int]:
        """The most frequent nouns of headlines published in [lo, hi): (keywords, headlines)."""
        q = sa.select(t.articles.c.nouns).where(
            t.articles.c.published_at >= lo, t.articles.c.published_at < hi
        )
        counts: Counter[str] = Counter()
        n = 0
        async with self.engine.connect() as conn:
            for (words,) in await conn.execute(q):
                n += 1
                # a headline repeating a word counts it once
                counts.update(set(words.split()))
        # ties by word: the same top ``limit`` in every process (most_common keeps read order)
        top = heapq.nsmallest(limit, counts.items(), key=lambda wc: (-wc[1], wc[0]))
        return [Keyword(w, c) for w, c in top], n

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (
                    await conn.execute(sa.select(sa.func.count()).select_from(t.articles))
                ).scalar_one()
            )
