"""DART company profiles (company.json, 기업개황) stored by the DART refresh.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dart_companies",
        sa.Column("symbol", sa.Text, primary_key=True),
        sa.Column("corp_code", sa.Text, nullable=False),
        sa.Column("corp_name", sa.Text, nullable=False),
        sa.Column("corp_name_eng", sa.Text),
        sa.Column("ceo", sa.Text),
        sa.Column("homepage", sa.Text),
        sa.Column("ir_url", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("industry_code", sa.Text),
        sa.Column("established_on", sa.Text),
        sa.Column("fiscal_month", sa.Integer),
        sa.Column("corp_class", sa.Text),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dart_companies")
