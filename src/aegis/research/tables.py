"""Research tables on the shared application metadata (migration ``0004``)."""

from __future__ import annotations

import sqlalchemy as sa

from aegis.db import metadata

# which shipped datasets were written (idempotent seeding, one row per dataset version)
research_seeds = sa.Table(
    "research_seeds",
    metadata,
    sa.Column("dataset", sa.Text, primary_key=True),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("seeded_at", sa.DateTime(timezone=True), nullable=False),
)

financials = sa.Table(
    "research_financials",
    metadata,
    sa.Column("symbol", sa.Text, primary_key=True),
    sa.Column("basis", sa.Text, primary_key=True),  # CFS | OFS
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("quarter", sa.Integer, primary_key=True),  # 0 = fiscal year
    sa.Column("revenue", sa.BigInteger),
    sa.Column("operating_profit", sa.BigInteger),
    sa.Column("net_income", sa.BigInteger),
    sa.Column("total_assets", sa.BigInteger),
    sa.Column("total_liabilities", sa.BigInteger),
    sa.Column("total_equity", sa.BigInteger),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("status", sa.Text),
    sa.Column("rcept_no", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

disclosures = sa.Table(
    "research_disclosures",
    metadata,
    sa.Column("rcept_no", sa.Text, primary_key=True),
    sa.Column("symbol", sa.Text, nullable=False),
    sa.Column("corp_name", sa.Text, nullable=False),
    sa.Column("filed_at", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("category", sa.Text),
    sa.Column("filer", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Index("ix_research_disclosures_symbol_filed_at", "symbol", "filed_at"),
)

valuations = sa.Table(
    "research_valuations",
    metadata,
    sa.Column("symbol", sa.Text, primary_key=True),
    sa.Column("day", sa.Text, primary_key=True),  # YYYY-MM-DD
    sa.Column("close", sa.BigInteger),
    sa.Column("per", sa.Float),
    sa.Column("pbr", sa.Float),
    sa.Column("div_yield", sa.Float),
    sa.Column("market_cap", sa.BigInteger),
    sa.Column("source", sa.Text, nullable=False),
)

dart_corps = sa.Table(
    "research_dart_corps",
    metadata,
    sa.Column("symbol", sa.Text, primary_key=True),
    sa.Column("corp_code", sa.Text, nullable=False),
    sa.Column("corp_name", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

comparisons = sa.Table(
    "comparisons",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_comparisons_user_id", "user_id"),
)

comparison_companies = sa.Table(
    "comparison_companies",
    metadata,
    sa.Column(
        "comparison_id",
        sa.Integer,
        sa.ForeignKey("comparisons.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("company_id", sa.Integer, nullable=False),
)


# OpenDART company.json (기업개황) per listed company, as last fetched by the DART refresh
dart_companies = sa.Table(
    "dart_companies",
    metadata,
    sa.Column("symbol", sa.Text, primary_key=True),
    sa.Column("corp_code", sa.Text, nullable=False),
    sa.Column("corp_name", sa.Text, nullable=False),
    sa.Column("corp_name_eng", sa.Text),
    sa.Column("ceo", sa.Text),
    sa.Column("homepage", sa.Text),
    sa.Column("ir_url", sa.Text),
    sa.Column("address", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("industry_code", sa.Text),  # KSIC digits (induty_code)
    sa.Column("established_on", sa.Text),  # YYYY-MM-DD (est_dt)
    sa.Column("fiscal_month", sa.Integer),  # acc_mt
    sa.Column("corp_class", sa.Text),  # Y 유가증권, K 코스닥, N 코넥스, E 기타
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
)
