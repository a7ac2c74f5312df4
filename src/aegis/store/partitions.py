"""Day partitions of ``ticks`` and of the 1m ``candles`` on PostgreSQL without TimescaleDB.

Layout (made by revision 0007, managed here):

- ``ticks`` is partitioned by RANGE on ``ts``, one partition per KST day (``ticks_p20261202``
  holds 2026-12-02 00:00 KST to 2026-12-03 00:00 KST), plus ``ticks_default``.
- ``candles`` is partitioned by LIST on ``interval``: ``candles_1m`` (itself by RANGE on
  ``start``, one partition per KST day plus ``candles_1m_default``) and ``candles_rest`` (every
  other interval: few rows, kept for years).

Days are KST days, not UTC days: KRX's pre-market (from 08:00 KST = 23:00 UTC the day before)
and Nextrade's evening session (to 20:00 KST = 11:00 UTC) would split a trading day across two
UTC days. The primary keys keep their columns, which already hold the partition keys (``ts``,
``interval`` and ``start``), so every ON CONFLICT upsert works unchanged.

The DEFAULT partitions are the safety net: a row for a day without its partition (an import of
an old day, a clock far ahead) lands there instead of failing the insert. :func:`maintain` moves
such rows into their day's partition (created for the purpose), and creates the partitions of
today and the next :data:`DAYS_AHEAD` days, so that live rows never reach the DEFAULT partition
while housekeeping runs (the ingester runs it hourly, with retention).

Retention drops a whole partition once its day is older than the cutoff, unless it holds rows of
a kept source (imported or backfilled history): such a partition stays and retention deletes its
other rows one by one, as without partitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from aegis.core.timeutil import KST_OFFSET_US, US_PER_DAY, kst_day, kst_midnight_us

DAYS_AHEAD = 7  # partitions made in advance; housekeeping runs hourly, so this is ample

# day numbers a partition can have (a ``date`` and its next day exist); a row beyond stays in
# the DEFAULT partition, where retention's DELETE still reaches it
_FIRST = date(1, 1, 1).toordinal() - date(1970, 1, 1).toordinal()
_LAST = date(9999, 12, 31).toordinal() - date(1970, 1, 1).toordinal()
_BOUNDS = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


@dataclass(frozen=True)
class DayPartitioned:
    """A table partitioned by RANGE on a µs timestamp column, one partition per KST day."""

    parent: str  # the partitioned table
    key: str  # its partition key column (UTC µs)
    target: str  # its name in the retention log

    @property
    def default(self) -> str:
        return f"{self.parent}_default"

    def name(self, day: date) -> str:
        return f"{self.parent}_p{day:%Y%m%d}"


TICKS = DayPartitioned("ticks", "ts", "ticks")
CANDLES_1M = DayPartitioned("candles_1m", "start", "candles_1m")
TABLES = (TICKS, CANDLES_1M)


@dataclass(frozen=True)
class Partition:
    name: str
    lo: int  # UTC µs, inclusive
    hi: int  # UTC µs, exclusive


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def day_of_key_sql(key: str) -> str:
    """SQL for the KST day number (days since 1970-01-01) of a µs column; floor, not truncation."""
    return f"floor(({key} + {KST_OFFSET_US})::numeric / {US_PER_DAY})::bigint"


def day_from_number(n: int) -> date:
    return date(1970, 1, 1) + timedelta(days=n)


def create_partition_sql(table: DayPartitioned, day: date) -> str:
    """Create the (empty) partition of ``day``; only valid while the DEFAULT partition holds no
    row of that day (see :func:`maintain` for the general case)."""
    lo, hi = kst_midnight_us(day), kst_midnight_us(day + timedelta(days=1))
    return (
        f"CREATE TABLE IF NOT EXISTS {ident(table.name(day))} PARTITION OF {ident(table.parent)} "
        f"FOR VALUES FROM ({lo}) TO ({hi})"
    )


def upcoming_days(now: int) -> list[date]:
    today = kst_day(now)
    return [today + timedelta(days=i) for i in range(DAYS_AHEAD + 1)]


async def present(conn: asyncpg.Connection) -> tuple[DayPartitioned, ...]:
    """Which of :data:`TABLES` are declaratively partitioned in this database (``ticks`` is not
    where TimescaleDB made it a hypertable; neither is before revision 0007)."""
    names = await conn.fetch(
        "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = ANY($1::text[]) AND pg_table_is_visible(c.oid)",
        [t.parent for t in TABLES],
    )
    found = {r[0] for r in names}
    return tuple(t for t in TABLES if t.parent in found)


async def day_partitions(conn: asyncpg.Connection, table: DayPartitioned) -> list[Partition]:
    """The range partitions of ``table``, oldest first (the DEFAULT partition excluded)."""
    rows = await conn.fetch(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass",
        table.parent,
    )
    out = []
    for name, bound in rows:
        m = _BOUNDS.search(bound or "")
        if m:
            out.append(Partition(name, int(m[1]), int(m[2])))
    return sorted(out, key=lambda p: p.lo)


async def maintain(conn: asyncpg.Connection, table: DayPartitioned, now: int) -> list[str]:
    """Create the partitions of today and the days ahead, and move every row of the DEFAULT
    partition into its day's partition. Returns the partitions created."""
    have = {p.lo for p in await day_partitions(conn, table)}
    days = set(upcoming_days(now))
    strays = await conn.fetch(
        f"SELECT DISTINCT {day_of_key_sql(table.key)} FROM {ident(table.default)}"
    )
    days.update(day_from_number(int(r[0])) for r in strays if _FIRST <= int(r[0]) < _LAST)
    created = []
    for day in sorted(days):
        if kst_midnight_us(day) in have:
            continue
        await _create_day(conn, table, day)
        created.append(table.name(day))
    return created


async def _create_day(conn: asyncpg.Connection, table: DayPartitioned, day: date) -> None:
    """Build the day's partition beside the table, move the day's rows out of the DEFAULT
    partition into it, then attach it: attaching fails while the DEFAULT partition still holds
    a row of the day, so writers to the DEFAULT partition wait for the move (the lock)."""
    lo, hi = kst_midnight_us(day), kst_midnight_us(day + timedelta(days=1))
    name, parent, default = ident(table.name(day)), ident(table.parent), ident(table.default)
    key = ident(table.key)
    async with conn.transaction():
        await conn.execute(f"LOCK TABLE {default} IN EXCLUSIVE MODE")
        await conn.execute(f"CREATE TABLE {name} (LIKE {parent} INCLUDING DEFAULTS)")
        await conn.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE {key} >= {lo} AND {key} < {hi} "
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        )
        await conn.execute(
            f"ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})"
        )


async def drop_expired(
    conn: asyncpg.Connection, table: DayPartitioned, cutoff: int, keep: list[str]
) -> tuple[int, int]:
    """Drop the partitions wholly older than ``cutoff`` that hold no row of a kept source.
    Returns (partitions dropped, rows they held)."""
    dropped = rows = 0
    for part in await day_partitions(conn, table):
        if part.hi > cutoff:
            break
        # One pass over the partition: its row count for the log, and whether it holds history.
        total, kept = await conn.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE source = ANY($1::text[])) "
            f"FROM {ident(part.name)}",
            keep,
        )
        if kept:
            continue  # the row-by-row DELETE removes its live rows
        await conn.execute(f"DROP TABLE {ident(part.name)}")
        dropped += 1
        rows += int(total)
    return dropped, rows
