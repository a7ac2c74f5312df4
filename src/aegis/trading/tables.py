"""Trading tables. ``trading_events`` is the append-only log every account's state (orders,
cash, positions, safety) is rebuilt from; ``trading_fills`` repeats each fill in columns so the
trade log can be filtered and paginated in SQL."""

from __future__ import annotations

import sqlalchemy as sa

import aegis.accounts.tables  # noqa: F401 - the users table the foreign keys point to
from aegis.db.metadata import metadata

accounts = sa.Table(
    "trading_accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # "paper" | "kis"
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("user_id", "kind"),
)

events = sa.Table(
    "trading_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("trading_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("order_id", sa.Text),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON
    sa.Column("ts", sa.BigInteger, nullable=False),  # UTC µs
    sa.Index(None, "account_id", "id"),
)

fills = sa.Table(
    "trading_fills",
    metadata,
    sa.Column("trade_id", sa.Text, primary_key=True),
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("trading_accounts.id", ondelete="CASCADE"),
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
    sa.Index(None, "account_id", "ts"),
)

backtests = sa.Table(
    "trading_backtests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # None: run from the command line
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("strategy", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("report", sa.Text, nullable=False),  # JSON
    sa.Column("png", sa.LargeBinary),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

notify = sa.Table(
    "trading_notify",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("telegram_chat_id", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
)

alerts = sa.Table(
    "trading_alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("symbol", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("triggered_at", sa.BigInteger),
    sa.Column("triggered_price", sa.BigInteger),
)

# strategies started live or on paper: a row per start, resumed after a restart while running
strategy_runs = sa.Table(
    "trading_strategy_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("trading_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("strategy", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("symbols", sa.Text, nullable=False),  # JSON list
    sa.Column("interval", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),  # running | stopped | failed
    sa.Column("error", sa.Text),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("stopped_at", sa.BigInteger),
)

# a connected live KIS account: keys and account number sealed (AES-256-GCM, the credential
# store's master key); only the masked account number is ever read back for display
live_accounts = sa.Table(
    "trading_live_accounts",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("paper", sa.Boolean, nullable=False),
    sa.Column("account_mask", sa.Text, nullable=False),
    sa.Column("connected_at", sa.BigInteger, nullable=False),
)
