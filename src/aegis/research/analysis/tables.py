"""The daily analysis cache (migration 0005): one result per subject, KST day and provider."""

from __future__ import annotations

import sqlalchemy as sa

from aegis.db.metadata import metadata

cache = sa.Table(
    "analysis_cache",
    metadata,
    sa.Column("subject", sa.Text, primary_key=True),  # "company:005930", "industry:12", "picks"
    sa.Column("day", sa.Text, primary_key=True),  # KST date the result is for
    sa.Column("provider", sa.Text, primary_key=True),  # the provider asked for
    sa.Column("result", sa.Text, nullable=False),  # the wire JSON
    sa.Column("created_at", sa.BigInteger, nullable=False),
)
