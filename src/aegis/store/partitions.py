"""Day partitions of ``ticks`` and of the 1m ``candles`` on PostgreSQL without TimescaleDB.

Layout (made by revision 0007, kept up by :func:`maintain` and :func:`drop_expired`):

- ``ticks`` is partitioned by RANGE on ``ts``; ``candles`` by LIST on ``interval`` into
  ``candles_1m`` (itself by RANGE on ``start``) and ``candles_rest`` (every other interval: few
  rows, kept for years).
- A range-partitioned table has *day partitions* (``ticks_p20261202`` holds 2026-12-02 00:00 KST
  up to 2026-12-03 00:00 KST) and *catch-all partitions* covering every range between them and
  beyond (``ticks_from_min``, ``ticks_from_20261210`` up to the next partition or without end).
  Together they cover every value, so an insert never fails for want of a partition.

Days are KST days, not UTC days: KRX's pre-market (from 08:00 KST = 23:00 UTC the day before)
and Nextrade's evening session (to 20:00 KST = 11:00 UTC) would split a trading day across two
UTC days. The primary keys keep their columns, which already hold the partition keys (``ts``,
``interval`` and ``start``), so every ON CONFLICT upsert works unchanged.

Catch-alls instead of a DEFAULT partition: a DEFAULT partition keeps PostgreSQL (15 and 16) from
reading range partitions in order, so "the newest candle of each symbol" probes every day
partition instead of stopping at the newest one that has it (measured: 300 symbols over 60 days
of 1m candles, 535 ms with a DEFAULT partition, 16 ms without; docs/server-mode.md).

Housekeeping (:func:`maintain`, hourly in the ingester, before retention): the partitions of today
and the next :data:`DAYS_AHEAD` days are made in advance, so live rows go straight to their day.
A row that lands in a catch-all (an import of a past day, a clock far ahead) is moved into its
own day partition when its day is inside the retention window (so that it goes with its day);
older rows stay in their catch-all, where retention's DELETE reaches them (imported history
there is kept like anywhere else).

Retention (:func:`drop_expired`) drops a day partition once the whole day is older than the
cutoff, unless it holds rows of a kept source (imported or backfilled history): such a partition
stays and retention deletes its other rows one by one, as without partitions. Dropped days leave
a gap that a catch-all fills again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from aegis.core.timeutil import KST_OFFSET_US, US_PER_DAY, kst_day, kst_midnight_us

DAYS_AHEAD = 7  # partitions made in advance; housekeeping runs hourly, so this is ample

# day numbers a day partition can have (a ``date`` and its next day exist); rows beyond stay in
# a catch-all, where retention's DELETE still reaches them
_FIRST = date(1, 1, 1).toordinal() - date(1970, 1, 1).toordinal()
_LAST = date(9999, 12, 31).toordinal() - date(1970, 1, 1).toordinal()
_BOUND = r"(MINVALUE|MAXVALUE|'?-?\d+'?)"
_BOUNDS = re.compile(rf"FROM \({_BOUND}\) TO \({_BOUND}\)")


@dataclass(frozen=True)
class DayPartitioned:
    """A table partitioned by RANGE on a µs timestamp column, one partition per KST day."""

    parent: str  # the partitioned table
    key: str  # its partition key column (UTC µs)
    target: str  # its name in the retention log

    def name(self, day: date) -> str:
        return f"{self.parent}_p{day:%Y%m%d}"

    def catch_all_name(self, lo: int | None) -> str:
        return f"{self.parent}_from_" + ("min" if lo is None else f"{kst_day(lo):%Y%m%d}")


TICKS = DayPartitioned("ticks", "ts", "ticks")
CANDLES_1M = DayPartitioned("candles_1m", "start", "candles_1m")
TABLES = (TICKS, CANDLES_1M)


@dataclass(frozen=True)
class Partition:
    name: str
    lo: int | None  # UTC µs, inclusive; None: no lower bound
    hi: int | None  # UTC µs, exclusive; None: no upper bound
    catch_all: bool

    def covers(self, us: int) -> bool:
        return (self.lo is None or self.lo <= us) and (self.hi is None or us < self.hi)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def day_of_key_sql(key: str) -> str:
    """SQL for the KST day number (days since 1970-01-01) of a µs column; floor, not truncation."""
    return f"floor(({key} + {KST_OFFSET_US})::numeric / {US_PER_DAY})::bigint"


def day_from_number(n: int) -> date | None:
    return date(1970, 1, 1) + timedelta(days=n) if _FIRST <= n < _LAST else None


def day_bounds(day: date) -> tuple[int, int]:
    return kst_midnight_us(day), kst_midnight_us(day + timedelta(days=1))


def upcoming_days(now: int) -> list[date]:
    today = kst_day(now)
    return [today + timedelta(days=i) for i in range(DAYS_AHEAD + 1)]


def window_start(now: int, window_days: int | None) -> int:
    """The first instant whose day gets a day partition: the retention cutoff's day (today
    when nothing expires: then only the coming days are partitioned)."""
    if window_days is None:
        return kst_midnight_us(kst_day(now))
    return kst_midnight_us(min(kst_day(now - window_days * US_PER_DAY), kst_day(now)))


def layout(table: DayPartitioned, days: Iterable[date]) -> list[Partition]:
    """Day partitions for ``days`` and the catch-alls around them, covering every value."""
    parts = []
    for day in sorted(set(days)):
        lo, hi = day_bounds(day)
        parts.append(Partition(table.name(day), lo, hi, catch_all=False))
    return sorted([*parts, *_gaps(table, parts)], key=_start)


def create_sql(table: DayPartitioned, part: Partition) -> str:
    return (
        f"CREATE TABLE {ident(part.name)} PARTITION OF {ident(table.parent)} "
        f"FOR VALUES {_bounds_sql(part.lo, part.hi)}"
    )


def _bounds_sql(lo: int | None, hi: int | None) -> str:
    return f"FROM ({'MINVALUE' if lo is None else lo}) TO ({'MAXVALUE' if hi is None else hi})"


def _start(p: Partition) -> float:
    return -math.inf if p.lo is None else p.lo


def _gaps(
    table: DayPartitioned, parts: list[Partition], lo: int | None = None, hi: int | None = None
) -> list[Partition]:
    """Catch-alls for what ``parts`` leave uncovered of [lo, hi) (None: without bound)."""
    out = []
    edge = lo  # covered below this
    for i, p in enumerate(sorted(parts, key=_start)):
        if (i == 0 and p.lo != lo) or (i > 0 and p.lo != edge):
            out.append(Partition(table.catch_all_name(edge), edge, p.lo, catch_all=True))
        if p.hi is None:
            return out
        edge = p.hi
    if edge != hi or not parts:
        out.append(Partition(table.catch_all_name(edge), edge, hi, catch_all=True))
    return out


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


async def partitions_of(conn: asyncpg.Connection, table: DayPartitioned) -> list[Partition]:
    """The partitions of ``table``, in key order."""
    rows = await conn.fetch(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass",
        table.parent,
    )
    out = []
    for name, bound in rows:
        m = _BOUNDS.search(bound or "")
        if m is None:
            continue
        lo = None if m[1] == "MINVALUE" else int(m[1].strip("'"))
        hi = None if m[2] == "MAXVALUE" else int(m[2].strip("'"))
        is_day = lo is not None and hi == lo + US_PER_DAY and name == table.name(kst_day(lo))
        out.append(Partition(name, lo, hi, catch_all=not is_day))
    return sorted(out, key=_start)


async def maintain(
    conn: asyncpg.Connection, table: DayPartitioned, now: int, window_days: int | None
) -> list[str]:
    """Make the partitions of today and the days ahead, and move the rows in catch-alls whose
    day is inside the retention window into their own day partition. Returns the partitions
    made."""
    async with conn.transaction():
        await _fill_gaps(conn, table)
    lo = window_start(now, window_days)
    hi = kst_midnight_us(kst_day(now) + timedelta(days=DAYS_AHEAD + 1))
    wanted = set(upcoming_days(now))
    for p in await partitions_of(conn, table):
        if (
            not p.catch_all
            or (p.hi is not None and p.hi <= lo)
            or (p.lo is not None and p.lo >= hi)
        ):
            continue
        key = ident(table.key)
        rows = await conn.fetch(
            f"SELECT DISTINCT {day_of_key_sql(key)} FROM {ident(p.name)} "
            f"WHERE {key} >= {lo} AND {key} < {hi}"
        )
        wanted.update(d for d in (day_from_number(int(r[0])) for r in rows) if d is not None)
    made: list[str] = []
    while True:
        parts = await partitions_of(conn, table)
        holder, days = _next_carve(parts, wanted)
        if holder is None:
            return made
        await _carve(conn, table, holder, days)
        made.extend(table.name(d) for d in days)


def _next_carve(parts: list[Partition], wanted: set[date]) -> tuple[Partition | None, list[date]]:
    """A catch-all holding some wanted days without their partition, and those days."""
    for p in parts:
        if p.catch_all:
            days = sorted(d for d in wanted if p.covers(kst_midnight_us(d)))
            if days:
                return p, days
    return None, []


async def _carve(
    conn: asyncpg.Connection, table: DayPartitioned, c: Partition, days: list[date]
) -> None:
    """Give ``days`` (inside the catch-all ``c``) their day partitions, with catch-alls between
    and after them up to where ``c`` ended; rows from the first day on move in one pass, rows
    before it stay in ``c``. The table stays locked meanwhile (DETACH): no insert finds a range
    uncovered."""
    first = kst_midnight_us(days[0])
    parent, old = ident(table.parent), ident(c.name)
    keep = c.lo is None or c.lo < first  # ``c`` keeps what is before the first day
    pieces = [Partition(table.name(d), *day_bounds(d), catch_all=False) for d in days]
    pieces += _gaps(table, pieces, first, c.hi)
    async with conn.transaction():
        await conn.execute(f"ALTER TABLE {parent} DETACH PARTITION {old}")
        if not keep:  # its name may be the one a new catch-all takes
            await conn.execute(f"ALTER TABLE {old} RENAME TO {ident(c.name + '_moving')}")
            old = ident(c.name + "_moving")
        for piece in pieces:
            await conn.execute(create_sql(table, piece))
        where = f"WHERE {ident(table.key)} >= {first}" if keep else ""
        await conn.execute(
            f"WITH moved AS (DELETE FROM {old} {where} RETURNING *) "
            f"INSERT INTO {parent} SELECT * FROM moved"
        )
        if keep:
            await conn.execute(
                f"ALTER TABLE {parent} ATTACH PARTITION {old} FOR VALUES {_bounds_sql(c.lo, first)}"
            )
        else:
            await conn.execute(f"DROP TABLE {old}")


async def _fill_gaps(conn: asyncpg.Connection, table: DayPartitioned) -> None:
    """Cover what dropped partitions left uncovered with catch-alls, then merge runs of empty
    catch-alls (an empty table attaches without a long check)."""
    parts = await partitions_of(conn, table)
    for gap in _gaps(table, parts):
        await conn.execute(create_sql(table, gap))
    run: list[Partition] = []
    for p in [*await partitions_of(conn, table), None]:
        empty = (
            p is not None
            and p.catch_all
            and not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {ident(p.name)})")
        )
        if p is not None and empty and (not run or run[-1].hi == p.lo):
            run.append(p)
            continue
        if len(run) > 1:
            await _merge(conn, table, run)
        run = [p] if p is not None and empty else []


async def _merge(conn: asyncpg.Connection, table: DayPartitioned, run: list[Partition]) -> None:
    parent = ident(table.parent)
    for p in run:
        await conn.execute(f"ALTER TABLE {parent} DETACH PARTITION {ident(p.name)}")
    for p in run[1:]:
        await conn.execute(f"DROP TABLE {ident(p.name)}")
    await conn.execute(
        f"ALTER TABLE {parent} ATTACH PARTITION {ident(run[0].name)} "
        f"FOR VALUES {_bounds_sql(run[0].lo, run[-1].hi)}"
    )


async def drop_expired(
    conn: asyncpg.Connection, table: DayPartitioned, cutoff: int, keep: list[str]
) -> tuple[int, int]:
    """Drop the day partitions wholly older than ``cutoff`` that hold no row of a kept source,
    and cover their days with a catch-all again. Returns (partitions dropped, rows they held)."""
    dropped = rows = 0
    for part in await partitions_of(conn, table):
        if part.hi is None or part.hi > cutoff:
            break
        if part.catch_all:
            continue  # retention's DELETE handles its rows
        # One pass over the partition: its row count for the log, and whether it holds history.
        total, kept = await conn.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE source = ANY($1::text[])) "
            f"FROM {ident(part.name)}",
            keep,
        )
        if kept:
            continue  # retention's DELETE removes its other rows
        await conn.execute(f"DROP TABLE {ident(part.name)}")
        dropped += 1
        rows += int(total)
    if dropped:
        await _fill_gaps(conn, table)
    return dropped, rows
