"""Trading: accounts, the append-only event log, fills, backtest reports.

Revision ID: 0006
Revises: 0003 (users: accounts belong to users; the lead re-chains revisions at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "trading_accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_trading_accounts_user_id_users"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("user_id", "kind", name="uq_trading_accounts_user_id_kind"),
    )
    op.create_table(
        "trading_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey(
                "trading_accounts.id",
                ondelete="CASCADE",
                name="fk_trading_events_account_id_trading_accounts",
            ),
            nullable=False,
        ),
        sa.Column("order_id", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_trading_events_account_id_id", "trading_events", ["account_id", "id"])
    op.create_table(
        "trading_fills",
        sa.Column("trade_id", sa.Text, primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey(
                "trading_accounts.id",
                ondelete="CASCADE",
                name="fk_trading_fills_account_id_trading_accounts",
            ),
            nullable=False,
        ),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("side", sa.Text, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("commission", sa.BigInteger, nullable=False),
        sa.Column("tax", sa.BigInteger, nullable=False),
        sa.Column("realized_pnl", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("strategy", sa.Text),
    )
    op.create_index("ix_trading_fills_account_id_ts", "trading_fills", ["account_id", "ts"])
    op.create_table(
        "trading_backtests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey(
                "users.id", ondelete="CASCADE", name="fk_trading_backtests_user_id_users"
            ),
        ),
        sa.Column("strategy", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("png", sa.LargeBinary),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "trading_notify",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_trading_notify_user_id_users"),
            primary_key=True,
        ),
        sa.Column("telegram_chat_id", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "trading_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_trading_alerts_user_id_users"),
            nullable=False,
        ),
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("triggered_at", sa.BigInteger),
        sa.Column("triggered_price", sa.BigInteger),
    )


def downgrade() -> None:
    op.drop_table("trading_alerts")
    op.drop_table("trading_notify")
    op.drop_table("trading_backtests")
    op.drop_index("ix_trading_fills_account_id_ts", "trading_fills")
    op.drop_table("trading_fills")
    op.drop_index("ix_trading_events_account_id_id", "trading_events")
    op.drop_table("trading_events")
    op.drop_table("trading_accounts")
