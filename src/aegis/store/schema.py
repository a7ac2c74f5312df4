"""The storage schema, shared by SQLite and PostgreSQL (storage models, not wire schemas).

Times are UTC epoch microseconds (bigint); prices and volumes are exact integers in the
instrument's minor units. ``amount`` may exceed int64 for crypto, hence NUMERIC.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

instruments = sa.Table(
    "instruments",
    metadata,
    sa.Column("company_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("symbol", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text),
    sa.Column("market", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("industry", sa.Text),
    sa.Column("shares", sa.BigInteger),
    sa.Column("price_scale", sa.Integer, nullable=False, server_default="0"),
    sa.Column("qty_scale", sa.Integer, nullable=False, server_default="0"),
    sa.Column("prev_close", sa.BigInteger),
    sa.Column("listing_date", sa.Text),
    sa.Column("products", sa.Text),
)

ticks = sa.Table(
    "ticks",
    metadata,
    sa.Column("symbol", sa.Text, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("volume", sa.BigInteger, nullable=False),
    sa.Column("side", sa.SmallInteger, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("symbol", "ts", "seq", name="ticks_pkey"),
)

candles = sa.Table(
    "candles",
    metadata,
    sa.Column("symbol", sa.Text, nullable=False),
    sa.Column("interval", sa.Text, nullable=False),
    sa.Column("start", sa.BigInteger, nullable=False),
    sa.Column("open", sa.BigInteger, nullable=False),
    sa.Column("high", sa.BigInteger, nullable=False),
    sa.Column("low", sa.BigInteger, nullable=False),
    sa.Column("close", sa.BigInteger, nullable=False),
    sa.Column("volume", sa.BigInteger, nullable=False),
    # NULL where the data do not give the traded value (never an estimate)
    sa.Column("amount", sa.Numeric(38, 0).with_variant(sa.LargeBinary(), "sqlite")),
    sa.Column("trades", sa.BigInteger, nullable=False),
    sa.Column("first_ts", sa.BigInteger, nullable=False),
    sa.Column("first_seq", sa.BigInteger, nullable=False),
    sa.Column("last_ts", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    # sim, kis, kiwoom, binance, import, backfill (unknown: stored before revision 0002)
    sa.Column("source", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("symbol", "interval", "start", name="candles_pkey"),
)

# What each retention pass removed, and when (revision 0002; shown on /system/status).
retention_log = sa.Table(
    "retention_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("cutoff", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.BigInteger, nullable=False),
    sa.Index("retention_log_at_idx", "at"),
)
