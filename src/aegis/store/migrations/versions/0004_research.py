"""Research data: financial statements, disclosures, valuation history, DART corp codes.

Revision ID: 0004
Revises: 0003 (assigned "0001"; chained after the merged accounts revision because the
comparison tables reference ``users`` — the lead re-chains revisions linearly at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "research_seeds",
        sa.Column("dataset", sa.Text, primary_key=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("seeded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("dataset", name="pk_research_seeds"),
    )
    op.create_table(
        "research_financials",
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("quarter", sa.Integer, nullable=False),
        sa.Column("revenue", sa.BigInteger),
        sa.Column("operating_profit", sa.BigInteger),
        sa.Column("net_income", sa.BigInteger),
        sa.Column("total_assets", sa.BigInteger),
        sa.Column("total_liabilities", sa.BigInteger),
        sa.Column("total_equity", sa.BigInteger),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("status", sa.Text),
        sa.Column("rcept_no", sa.Text),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "symbol", "basis", "year", "quarter", name="pk_research_financials"
        ),
    )
    op.create_table(
        "research_disclosures",
        sa.Column("rcept_no", sa.Text, nullable=False),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("corp_name", sa.Text, nullable=False),
        sa.Column("filed_at", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("filer", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("rcept_no", name="pk_research_disclosures"),
    )
    op.create_index(
        "ix_research_disclosures_symbol_filed_at",
        "research_disclosures",
        ["symbol", "filed_at"],
    )
    op.create_table(
        "research_valuations",
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("day", sa.Text, nullable=False),
        sa.Column("close", sa.BigInteger),
        sa.Column("per", sa.Float),
        sa.Column("pbr", sa.Float),
        sa.Column("div_yield", sa.Float),
        sa.Column("market_cap", sa.BigInteger),
        sa.Column("source", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "day", name="pk_research_valuations"),
    )
    op.create_table(
        "research_dart_corps",
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("corp_code", sa.Text, nullable=False),
        sa.Column("corp_name", sa.Text),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("symbol", name="pk_research_dart_corps"),
    )

    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("period", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_comparisons"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name="fk_comparisons_user_id_users"
        ),
    )
    op.create_index("ix_comparisons_user_id", "comparisons", ["user_id"])
    op.create_table(
        "comparison_companies",
        sa.Column("comparison_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("company_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("comparison_id", "position", name="pk_comparison_companies"),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["comparisons.id"],
            ondelete="CASCADE",
            name="fk_comparison_companies_comparison_id_comparisons",
        ),
    )


def downgrade() -> None:
    op.drop_table("comparison_companies")
    op.drop_index("ix_comparisons_user_id", "comparisons")
    op.drop_table("comparisons")
    op.drop_table("research_dart_corps")
    op.drop_table("research_valuations")
    op.drop_index("ix_research_disclosures_symbol_filed_at", "research_disclosures")
    op.drop_table("research_disclosures")
    op.drop_table("research_financials")
    op.drop_table("research_seeds")
