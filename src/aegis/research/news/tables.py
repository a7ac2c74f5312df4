"""News tables on the shared application metadata (migration 0005)."""

from __future__ import annotations

import sqlalchemy as sa

from aegis.db.metadata import metadata

articles = sa.Table(
    "news_articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.Text, nullable=False),  # the link shown (publisher's where known)
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("press", sa.Text),
    sa.Column("published_at", sa.BigInteger, nullable=False),  # epoch seconds (UTC)
    sa.Column("collected_at", sa.BigInteger, nullable=False),
    sa.Column("origin", sa.Text, nullable=False),  # "archive:<file>", "rss:<feed>", "naver"
    sa.Column("nouns", sa.Text, nullable=False, server_default=""),  # keyword candidates
    sa.Column("terms", sa.Text, nullable=False, server_default=""),  # full-text index terms
    sa.Index("ix_news_articles_published_at", "published_at"),
)

# Every normalised URL an article is known by (publisher and Naver links): the dedup key.
urls = sa.Table(
    "news_urls",
    metadata,
    sa.Column("url_key", sa.Text, primary_key=True),
    sa.Column(
        "article_id",
        sa.Integer,
        sa.ForeignKey("news_articles.id", ondelete="CASCADE"),
        nullable=False,
    ),
)

# Companies a headline mentions (by stock code: ids are assigned by the market store).
links = sa.Table(
    "news_company_links",
    metadata,
    sa.Column(
        "article_id",
        sa.Integer,
        sa.ForeignKey("news_articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("symbol", sa.Text, primary_key=True),
    sa.Column("published_at", sa.BigInteger, nullable=False),  # copied: newest-first per symbol
    sa.Index("ix_news_company_links_symbol_published_at", "symbol", "published_at"),
)

# What each collector last did, so the API can say why there is no fresh news.
feeds = sa.Table(
    "news_feeds",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # rss | naver | archive
    sa.Column("url", sa.Text),
    sa.Column("last_attempt_at", sa.BigInteger),
    sa.Column("last_success_at", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.Column("last_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_count", sa.Integer, nullable=False, server_default="0"),
)
