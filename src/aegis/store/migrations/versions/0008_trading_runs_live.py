"""Trading: strategy runs (resumed after a restart) and connected live KIS accounts.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trading_strategy_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey(
                "trading_accounts.id",
                ondelete="CASCADE",
                name="fk_trading_strategy_runs_account_id_trading_accounts",
            ),
            nullable=False,
        ),
        sa.Column("strategy", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("symbols", sa.Text, nullable=False),
        sa.Column("interval", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("stopped_at", sa.BigInteger),
    )
    op.create_table(
        "trading_live_accounts",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey(
                "users.id", ondelete="CASCADE", name="fk_trading_live_accounts_user_id_users"
            ),
            primary_key=True,
        ),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("paper", sa.Boolean, nullable=False),
        sa.Column("account_mask", sa.Text, nullable=False),
        sa.Column("connected_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trading_live_accounts")
    op.drop_table("trading_strategy_runs")
