"""Initial schema: instruments, ticks, candles; TimescaleDB hypertables where installed.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _has_timescale() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    row = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    return row is not None


def upgrade() -> None:
    op.create_table(
        "instruments",
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
    op.create_table(
        "ticks",
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("volume", sa.BigInteger, nullable=False),
        sa.Column("side", sa.SmallInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "ts", "seq", name="ticks_pkey"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "candles",
        sa.Column("symbol", sa.Text, nullable=False),
        sa.Column("interval", sa.Text, nullable=False),
        sa.Column("start", sa.BigInteger, nullable=False),
        sa.Column("open", sa.BigInteger, nullable=False),
        sa.Column("high", sa.BigInteger, nullable=False),
        sa.Column("low", sa.BigInteger, nullable=False),
        sa.Column("close", sa.BigInteger, nullable=False),
        sa.Column("volume", sa.BigInteger, nullable=False),
        # SQLite: no type affinity, so ints stay ints and larger amounts stay exact text
        sa.Column(
            "amount", sa.Numeric(38, 0).with_variant(sa.LargeBinary(), "sqlite"), nullable=False
        ),
        sa.Column("trades", sa.BigInteger, nullable=False),
        sa.Column("first_ts", sa.BigInteger, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_ts", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "interval", "start", name="candles_pkey"),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        # SQLite deletes old rows per symbol through the primary key instead; an extra index
        # there would cost every insert.
        op.create_index("ticks_ts_idx", "ticks", ["ts"])
    if _has_timescale():
        # Integer time (µs): hypertables need an integer_now function for policies.
        op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        op.execute(
            "CREATE OR REPLACE FUNCTION aegis_now_us() RETURNS bigint LANGUAGE SQL STABLE AS "
            "$$ SELECT (extract(epoch FROM now()) * 1000000)::bigint $$"
        )
        op.execute(
            "SELECT create_hypertable('ticks', 'ts', chunk_time_interval => 86400000000, "
            "migrate_data => true)"
        )
        op.execute("SELECT set_integer_now_func('ticks', 'aegis_now_us')")
        op.execute(
            "ALTER TABLE ticks SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'symbol')"
        )
        op.execute("SELECT add_compression_policy('ticks', compress_after => 86400000000)")


def downgrade() -> None:
    op.drop_table("candles")
    op.drop_table("ticks")
    op.drop_table("instruments")
