"""News articles, their URLs and company links, collector status, full-text index; the daily
analysis cache.

Revision ID: 0005
Revises: 0004 (branch news-ai: 0001, re-chained after merging research)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "news_articles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("press", sa.Text),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("collected_at", sa.BigInteger, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("nouns", sa.Text, nullable=False, server_default=""),
        sa.Column("terms", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_news_articles"),
    )
    op.create_index("ix_news_articles_published_at", "news_articles", ["published_at"])
    op.create_table(
        "news_urls",
        sa.Column("url_key", sa.Text, nullable=False),
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("url_key", name="pk_news_urls"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["news_articles.id"],
            name="fk_news_urls_article_id_news_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "news_company_links",
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "symbol", name="pk_news_company_links"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["news_articles.id"],
            name="fk_news_company_links_article_id_news_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_news_company_links_symbol_published_at",
        "news_company_links",
        ["symbol", "published_at"],
    )
    op.create_table(
        "news_feeds",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("last_attempt_at", sa.BigInteger),
        sa.Column("last_success_at", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("last_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total_count", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name", name="pk_news_feeds"),
    )
    op.create_table(
        "analysis_cache",
        sa.Column("subject", sa.Text, nullable=False),  # "company:005930", "industry:12"
        sa.Column("day", sa.Text, nullable=False),  # KST date the result is for
        sa.Column("provider", sa.Text, nullable=False),  # requested provider
        sa.Column("result", sa.Text, nullable=False),  # the wire JSON
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("subject", "day", "provider", name="pk_analysis_cache"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # 'simple': no stemming; the terms are already Korean bigrams, nouns and words
        op.execute(
            "CREATE INDEX ix_news_articles_terms_fts ON news_articles "
            "USING gin (to_tsvector('simple', terms))"
        )
    else:
        # external-content FTS5 table over news_articles.terms, kept in sync by triggers
        op.execute(
            "CREATE VIRTUAL TABLE news_fts USING fts5("
            "terms, content='news_articles', content_rowid='id', tokenize='unicode61')"
        )
        op.execute(
            "CREATE TRIGGER news_articles_ai AFTER INSERT ON news_articles BEGIN "
            "INSERT INTO news_fts(rowid, terms) VALUES (new.id, new.terms); END"
        )
        op.execute(
            "CREATE TRIGGER news_articles_ad AFTER DELETE ON news_articles BEGIN "
            "INSERT INTO news_fts(news_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
            "END"
        )
        op.execute(
            "CREATE TRIGGER news_articles_au AFTER UPDATE ON news_articles BEGIN "
            "INSERT INTO news_fts(news_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
            "INSERT INTO news_fts(rowid, terms) VALUES (new.id, new.terms); END"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for trig in ("news_articles_ai", "news_articles_ad", "news_articles_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trig}")
        op.execute("DROP TABLE IF EXISTS news_fts")
    op.drop_table("analysis_cache")
    op.drop_table("news_feeds")
    op.drop_table("news_company_links")
    op.drop_table("news_urls")
    op.drop_table("news_articles")
