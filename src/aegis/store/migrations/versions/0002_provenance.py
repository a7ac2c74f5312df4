"""Provenance: every candle says where it comes from; amount may be unknown; a retention log.

- ``candles.source`` (sim, kis, kiwoom, binance, import, backfill). Rows stored before this
  revision take the source of their closing tick when that tick is still stored, else
  ``unknown`` (their origin was never recorded; nothing is guessed).
- ``candles.amount`` becomes nullable: a daily series without traded value stores NULL instead of
  an estimate.
- ``retention_log``: what each retention pass removed and when (shown on /system/status).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLS = (
    "symbol, interval, start, open, high, low, close, volume, amount, trades, "
    "first_ts, first_seq, last_ts, last_seq"
)
_CLOSING_TICK_SOURCE = (
    "(SELECT t.source FROM ticks t WHERE t.symbol = c.symbol AND t.ts = c.last_ts "
    "AND t.seq = c.last_seq)"
)


def _candles_table(name: str, *, amount_nullable: bool, with_source: bool) -> None:
    cols: list[sa.Column[object]] = [
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("interval", sa.Text, nullable=False),
        sa.Column("start", sa.BigInteger, nullable=False),
        sa.Column("open", sa.BigInteger, nullable=False),
        sa.Column("high", sa.BigInteger, nullable=False),
        sa.Column("low", sa.BigInteger, nullable=False),
        sa.Column("close", sa.BigInteger, nullable=False),
        sa.Column("volume", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.LargeBinary(), nullable=amount_nullable),
        sa.Column("trades", sa.BigInteger, nullable=False),
        sa.Column("first_ts", sa.BigInteger, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_ts", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    ]
    if with_source:
        cols.append(sa.Column("source", sa.Text, nullable=False))
    op.create_table(
        name,
        *cols,
        sa.PrimaryKeyConstraint("symbol", "interval", "start", name=f"{name}_pkey"),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot change a column's nullability: rebuild the table (WITHOUT ROWID kept).
        _candles_table("candles_new", amount_nullable=True, with_source=True)
        op.execute(
            f"INSERT INTO candles_new ({_COLS}, source) SELECT {_COLS}, "
            f"COALESCE({_CLOSING_TICK_SOURCE}, 'unknown') FROM candles c"
        )
        op.drop_table("candles")
        op.rename_table("candles_new", "candles")
    else:
        op.add_column(
            "candles", sa.Column("source", sa.Text, nullable=False, server_default="unknown")
        )
        op.execute(
            f"UPDATE candles c SET source = {_CLOSING_TICK_SOURCE} "
            f"WHERE EXISTS {_CLOSING_TICK_SOURCE}"
        )
        op.alter_column("candles", "source", server_default=None)
        op.alter_column("candles", "amount", nullable=True)
    op.create_table(
        "retention_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),  # UTC µs
        sa.Column("target", sa.Text, nullable=False),  # "ticks" or "candles_<interval>"
        sa.Column("cutoff", sa.BigInteger, nullable=False),  # rows older than this went
        sa.Column("deleted", sa.BigInteger, nullable=False),
    )
    op.create_index("retention_log_at_idx", "retention_log", ["at"])


def downgrade() -> None:
    op.drop_index("retention_log_at_idx", "retention_log")
    op.drop_table("retention_log")
    # revision 0001 cannot hold an unknown amount: those rows get close × volume again
    op.execute("UPDATE candles SET amount = close * volume WHERE amount IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        _candles_table("candles_old", amount_nullable=False, with_source=False)
        op.execute(f"INSERT INTO candles_old ({_COLS}) SELECT {_COLS} FROM candles")
        op.drop_table("candles")
        op.rename_table("candles_old", "candles")
    else:
        op.alter_column("candles", "amount", nullable=False)
        op.drop_column("candles", "source")
