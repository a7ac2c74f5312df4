"""PostgreSQL: ``ticks`` and the 1m ``candles`` in one partition per KST day.

Each table is converted in place: the populated table is renamed, the partitioned one is created
under the old name with the same columns and keys, the partitions of every day the old table
holds (and of today and the days ahead) are created, the rows move over, the old table goes.
``ticks`` stays as it is where TimescaleDB made it a hypertable (its chunks already are days).
SQLite is unchanged. The layout and its housekeeping: ``aegis.store.partitions``.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aegis.core.config import get_settings
from aegis.core.timeutil import now_us
from aegis.store.partitions import (
    CANDLES_1M,
    TICKS,
    DayPartitioned,
    create_sql,
    day_from_number,
    day_of_key_sql,
    layout,
    upcoming_days,
    window_start,
)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_KEYS = {"ticks": "symbol, ts, seq", "candles": 'symbol, "interval", start'}


def _is_partitioned(table: str) -> bool:
    return bool(
        op.get_bind()
        .execute(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c "
                "ON c.oid = p.partrelid WHERE c.relname = :t AND pg_table_is_visible(c.oid))"
            ),
            {"t": table},
        )
        .scalar_one()
    )


def _is_hypertable() -> bool:
    bind = op.get_bind()
    if not bind.execute(
        sa.text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')")
    ).scalar_one():
        return False
    return bool(
        bind.execute(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables "
                "WHERE hypertable_name = 'ticks')"
            )
        ).scalar_one()
    )


def _set_aside(table: str, suffix: str) -> str:
    """Rename ``table`` and its key (and ts index) out of the way; returns the new name."""
    old = f"{table}_{suffix}"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"ALTER INDEX {table}_pkey RENAME TO {old}_pkey")
    if table == "ticks":
        op.execute(f"ALTER INDEX ticks_ts_idx RENAME TO {old}_ts_idx")
    return old


def _keys(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({_KEYS[table]})")
    if table == "ticks":
        # retention's DELETE of a day's expired part and of rows in catch-all partitions
        op.execute("CREATE INDEX ticks_ts_idx ON ticks (ts)")


def _create_partitions(source: str, table: DayPartitioned, window: int | None, where: str) -> None:
    """Day partitions for the days ``source`` holds inside the retention window (older rows
    are not dropped by day: they go to a catch-all) and for the coming days; catch-alls for the
    rest. The window is this process's setting (``AEGIS_TICK_RETENTION_DAYS``,
    ``AEGIS_CANDLE_RETENTION_DAYS``); a later change only changes what housekeeping carves."""
    now = now_us()
    rows = op.get_bind().execute(
        sa.text(
            f"SELECT DISTINCT {day_of_key_sql(table.key)} FROM {source} "
            f"WHERE {table.key} >= {window_start(now, window)} {where}"
        )
    )
    days = [d for d in (day_from_number(int(r[0])) for r in rows) if d is not None]
    for part in layout(table, [*days, *upcoming_days(now)]):
        op.execute(create_sql(table, part))


def _partition_ticks() -> None:
    old = _set_aside("ticks", "unpartitioned")
    op.execute(f"CREATE TABLE ticks (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (ts)")
    _keys("ticks")
    _create_partitions(old, TICKS, get_settings().tick_retention_days, "")
    op.execute(f"INSERT INTO ticks SELECT * FROM {old}")
    op.execute(f"DROP TABLE {old}")


def _partition_candles() -> None:
    old = _set_aside("candles", "unpartitioned")
    op.execute(
        f'CREATE TABLE candles (LIKE {old} INCLUDING DEFAULTS) PARTITION BY LIST ("interval")'
    )
    _keys("candles")
    op.execute(
        "CREATE TABLE candles_1m PARTITION OF candles FOR VALUES IN ('1m') "
        "PARTITION BY RANGE (start)"
    )
    op.execute("CREATE TABLE candles_rest PARTITION OF candles DEFAULT")
    window = get_settings().candle_retention_days.get("1m")
    _create_partitions(old, CANDLES_1M, window, "AND \"interval\" = '1m'")
    op.execute(f"INSERT INTO candles SELECT * FROM {old}")
    op.execute(f"DROP TABLE {old}")


def _unpartition(table: str) -> None:
    old = _set_aside(table, "partitioned")
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS)")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    _keys(table)
    op.execute(f"DROP TABLE {old}")  # its partitions with it


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    if not _is_hypertable() and not _is_partitioned("ticks"):
        _partition_ticks()
    if not _is_partitioned("candles"):
        _partition_candles()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("candles", "ticks"):
        if _is_partitioned(table):
            _unpartition(table)
