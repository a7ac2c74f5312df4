"""PostgreSQL store, server mode (``AEGIS_DATABASE_URL=postgresql://…``).

Ticks go in with COPY into a per-connection staging table, then one INSERT … ON CONFLICT DO
NOTHING moves them over, so that replayed ticks are ignored and the count of new ones is exact.
Candles take the same way (COPY into their staging table, then one INSERT … ON CONFLICT DO
UPDATE): binary COPY of plain tuples costs far less client CPU than arrays built per column.
Both INSERTs target the parent table, so they hold for a partitioned ``ticks``/``candles`` too.
The schema comes from the Alembic migrations (``aegis db upgrade``); where TimescaleDB is
installed they make ``ticks`` a compressed hypertable, and retention drops whole chunks before
deleting the remainder; without it ``ticks`` and the 1m candles have one partition per KST day,
which retention drops whole (``aegis.store.partitions``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any

import asyncpg

from aegis.core.errors import StoreError
from aegis.core.redact import redact_url
from aegis.core.timeutil import kst_day
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.sources import SIM
from aegis.domain.ticks import Tick
from aegis.store import partitions
from aegis.store.base import RetentionEntry, Store
from aegis.store.migrate import current_head
from aegis.store.rows import (
    INSTRUMENT_COLS,
    candle_from_row,
    in_key_order,
    instrument_from_row,
    instrument_row,
)

US_PER_DAY = 86_400_000_000
_TICK_COLS = ("symbol", "ts", "price", "volume", "side", "seq", "source")  # Tick field order
_CANDLE_COLS = (
    'symbol, "interval", start, open, high, low, close, volume, amount, trades, '
    "first_ts, first_seq, last_ts, last_seq, source"
)
_CANDLE_FIELDS = tuple(c.strip().strip('"') for c in _CANDLE_COLS.split(","))  # Candle order
_candle_values = attrgetter(*_CANDLE_FIELDS)
_INSTRUMENT_TYPES = (
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "int8[]",
    "int4[]",
    "int4[]",
    "int8[]",
    "text[]",
    "text[]",
)
_STAGE = "aegis_ticks_stage"
# staged ticks into ``ticks``, those stored already (or repeated in the batch) left out
_MOVE_STAGED_TICKS = (
    f"INSERT INTO ticks ({', '.join(_TICK_COLS)}) SELECT {', '.join(_TICK_COLS)} FROM {_STAGE} "
    "ON CONFLICT (symbol, ts, seq) DO NOTHING"
)
_CANDLE_STAGE = "aegis_candles_stage"
_CANDLE_STAGE_INT8 = "aegis_candles_stage8"  # the same, amount as bigint (see _candle_records)
_CANDLE_STAGE_NEW = "aegis_candles_new"  # candles of keys not stored yet (amount bigint)
_AMOUNT = _CANDLE_FIELDS.index("amount")
_MAX_INT64 = 2**63 - 1


def _upsert_candles(stage: str) -> str:
    return (
        f"INSERT INTO candles ({_CANDLE_COLS}) SELECT {_CANDLE_COLS} FROM {stage} "
        'ON CONFLICT (symbol, "interval", start) DO UPDATE SET open=EXCLUDED.open, '
        "high=EXCLUDED.high, low=EXCLUDED.low, close=EXCLUDED.close, "
        "volume=EXCLUDED.volume, amount=EXCLUDED.amount, trades=EXCLUDED.trades, "
        "first_ts=EXCLUDED.first_ts, first_seq=EXCLUDED.first_seq, "
        "last_ts=EXCLUDED.last_ts, last_seq=EXCLUDED.last_seq, source=EXCLUDED.source"
    )


def _candle_records(candles: Iterable[Candle]) -> tuple[list[tuple[Any, ...]], str]:
    """One row per candle key, the last state given winning (ON CONFLICT cannot touch one row
    twice), in key order: the upsert then walks ``candles_pkey`` in order instead of
    descending it at random for each row. With the staging table to COPY them into: the one
    whose ``amount`` is a bigint, unless an amount does not fit (crypto; rare): COPY encodes a
    Python int as NUMERIC at about four times the client CPU of an int8."""
    rows = in_key_order(list(map(_candle_values, candles)), last_only=True)
    big = any(a is not None and a > _MAX_INT64 for a in map(itemgetter(_AMOUNT), rows))
    return rows, _CANDLE_STAGE if big else _CANDLE_STAGE_INT8


def _split_newer(
    records: list[tuple[Any, ...]], newest: dict[tuple[str, str], int]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Candle rows (in key order) newer than ``newest`` of their symbol and interval, and the
    others (also those of a symbol and interval not in ``newest``). One lookup per symbol and
    interval: the rows of each are adjacent."""
    new: list[tuple[Any, ...]] = []
    rest: list[tuple[Any, ...]] = []
    sym = iv = None
    after = _MAX_INT64
    for r in records:
        if r[0] != sym or r[1] != iv:
            sym, iv = r[0], r[1]
            after = newest.get((sym, iv), _MAX_INT64)
        (new if r[2] > after else rest).append(r)
    return new, rest


def _note(newest: dict[tuple[str, str], int], row: tuple[Any, ...]) -> None:
    key = (row[0], row[1])
    if row[2] > newest.get(key, -_MAX_INT64):
        newest[key] = row[2]


def asyncpg_dsn(url: str) -> str:
    """Accept SQLAlchemy-style URLs too (``postgresql+psycopg://``): asyncpg wants the plain one."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def _unnest(types: Sequence[str]) -> str:
    return ", ".join(f"${i}::{t}" for i, t in enumerate(types, 1))


def _count(status: str) -> int:
    """Rows affected, from a command tag such as ``INSERT 0 42`` or ``DELETE 7``."""
    return int(status.rsplit(" ", 1)[-1])


def _symbols_then(symbols: Sequence[str] | None, first: Any) -> tuple[str, tuple[Any, ...]]:
    """A subquery of the symbols to probe (the given ones as $2, else every instrument) and the
    query arguments, ``first`` being $1."""
    if symbols is None:
        return "SELECT symbol FROM instruments", (first,)
    return "SELECT DISTINCT unnest($2::text[]) AS symbol", (first, list(symbols))


async def _log_retention(
    conn: asyncpg.Connection, entries: list[tuple[int, str, int, int]]
) -> None:
    """(at, target, cutoff, rows removed) rows into the retention log."""
    if entries:
        await conn.executemany(
            "INSERT INTO retention_log (at, target, cutoff, deleted) VALUES ($1, $2, $3, $4)",
            entries,
        )


class PostgresStore(Store):
    kind = "postgres"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self._dsn = asyncpg_dsn(url)
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self.timescale = False
        self.partitioned: tuple[partitions.DayPartitioned, ...] = ()
        self.ticks_written = 0
        self.ticks_ignored = 0
        self._session_settings: dict[str, str] = {}
        # The newest candle start known stored per (symbol, interval): from what this store
        # wrote and read with ``latest_candles``. Only a hint to skip ON CONFLICT for candles
        # that are newer (see ``_write_candle_records``): a wrong hint costs time, not data.
        self._newest: dict[tuple[str, str], int] = {}

    def use_session_settings(self, settings: dict[str, str]) -> None:
        """Settings for every session of the pool (set before :meth:`start`): the leading
        ingester's name and lease epoch, which the fence trigger checks on each write."""
        self._session_settings = dict(settings)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("PostgreSQL store is not started")
        return self._pool

    async def start(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                init=self._init_connection,
                server_settings=self._session_settings or None,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact_url(self.url)}: {exc}"
            ) from exc
        async with self.pool.acquire() as conn:
            version = None
            if await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
                version = await conn.fetchval("SELECT version_num FROM alembic_version")
            self.timescale = await self._ticks_is_hypertable(conn)
            self.partitioned = await partitions.present(conn)
        if version != current_head():
            await self.close()  # outside ``acquire``: closing waits for every connection back
            raise StoreError(
                f"database {redact_url(self.url)} is at schema {version}, expected "
                f"{current_head()}: run `aegis db upgrade`"
            )

    @staticmethod
    async def _ticks_is_hypertable(conn: asyncpg.Connection) -> bool:
        """Chunk retention applies only where the migration made ``ticks`` a hypertable."""
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
        ):
            return False
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables "
                "WHERE hypertable_name = 'ticks')"
            )
        )

    @staticmethod
    async def _init_connection(conn: asyncpg.Connection) -> None:
        # Per-connection staging table: COPY lands here, rows vanish at commit.
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (symbol text, ts bigint, price bigint, "
            "volume bigint, side smallint, seq bigint, source text) ON COMMIT DELETE ROWS"
        )
        stages = ((_CANDLE_STAGE, "numeric"), (_CANDLE_STAGE_INT8, "bigint"),
                  (_CANDLE_STAGE_NEW, "bigint"))  # fmt: skip
        for stage, amount in stages:
            await conn.execute(
                f'CREATE TEMP TABLE IF NOT EXISTS {stage} (symbol text, "interval" text, '
                "start bigint, open bigint, high bigint, low bigint, close bigint, volume bigint, "
                f"amount {amount}, trades bigint, first_ts bigint, first_seq bigint, "
                "last_ts bigint, last_seq bigint, source text) ON COMMIT DELETE ROWS"
            )

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    # --- instruments ----------------------------------------------------------------------
    async def upsert_instruments(self, items: Sequence[Instrument]) -> None:
        if not items:
            return
        latest = {i.symbol: i for i in items}  # one row per symbol, or ON CONFLICT refuses
        cols: list[list[Any]] = [[] for _ in range(12)]
        for i in latest.values():
            for col, value in zip(cols, instrument_row(i), strict=True):
                col.append(value)
        sql = (
            f"INSERT INTO instruments ({INSTRUMENT_COLS}) "
            f"SELECT * FROM unnest({_unnest(_INSTRUMENT_TYPES)}) "
            "ON CONFLICT (symbol) DO UPDATE SET name=EXCLUDED.name, name_en=EXCLUDED.name_en, "
            "market=EXCLUDED.market, kind=EXCLUDED.kind, industry=EXCLUDED.industry, "
            "shares=EXCLUDED.shares, price_scale=EXCLUDED.price_scale, "
            "qty_scale=EXCLUDED.qty_scale, prev_close=EXCLUDED.prev_close, "
            "listing_date=EXCLUDED.listing_date, products=EXCLUDED.products"
        )
        await self._execute(sql, *cols)

    async def list_instruments(self) -> list[Instrument]:
        rows = await self._fetch(
            f"SELECT company_id, {INSTRUMENT_COLS} FROM instruments ORDER BY company_id"
        )
        return [instrument_from_row(r) for r in rows]

    # --- ticks ----------------------------------------------------------------------------
    async def write_ticks(self, ticks: Sequence[Tick]) -> int:
        if not ticks:
            return 0
        # Within one batch the first copy of a key wins: the staging table is read in the
        # order COPY wrote it.
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.copy_records_to_table(_STAGE, records=ticks, columns=_TICK_COLS)
                new = _count(await conn.execute(_MOVE_STAGED_TICKS))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"writing {len(ticks)} ticks failed: {exc}") from exc
        self.ticks_written += new
        self.ticks_ignored += len(ticks) - new
        return new

    async def write_flush(self, ticks: Sequence[Tick], candles: Sequence[Candle]) -> int:
        # One transaction: one commit (one WAL flush) per flush instead of two, and no ticks
        # stored without their candles.
        records, stage = _candle_records(candles)
        new = 0
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if ticks:
                    new = await self._copy_fresh_ticks(conn, ticks)
                if records:
                    await self._write_candle_records(conn, records, stage)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"writing {len(ticks)} ticks failed: {exc}") from exc
        self._note_newest(records)
        self.ticks_written += new
        self.ticks_ignored += len(ticks) - new
        return new

    async def _write_candle_records(
        self, conn: asyncpg.Connection, records: list[tuple[Any, ...]], stage: str
    ) -> None:
        """Upsert candle rows (one per key, from ``_candle_records``) in the caller's
        transaction. Rows newer than the newest stored of their symbol and interval (in a
        sparse market most of a flush: the minutes that began and ended since the last one)
        are inserted without ON CONFLICT, whose speculative insertion cost the server about
        twice the CPU per row. Should one of them be stored after all (another process wrote
        it), that INSERT fails whole in its savepoint and every row takes the upsert."""
        rest = records
        if stage == _CANDLE_STAGE_INT8:  # amounts that fit a bigint (else: all upserted)
            new, rest = _split_newer(records, self._newest)
            if new:
                try:
                    async with conn.transaction():
                        await conn.copy_records_to_table(
                            _CANDLE_STAGE_NEW, records=new, columns=_CANDLE_FIELDS
                        )
                        await conn.execute(
                            f"INSERT INTO candles ({_CANDLE_COLS}) "
                            f"SELECT {_CANDLE_COLS} FROM {_CANDLE_STAGE_NEW}"
                        )
                except asyncpg.UniqueViolationError:
                    rest = records
        if rest:
            await conn.copy_records_to_table(stage, records=rest, columns=_CANDLE_FIELDS)
            await conn.execute(_upsert_candles(stage))

    def _note_newest(self, records: list[tuple[Any, ...]]) -> None:
        """Candle rows stored (committed): the newest start per symbol and interval."""
        newest = self._newest
        prev: tuple[Any, ...] | None = None
        for r in records:  # in key order: the last row of a symbol and interval is its newest
            if prev is not None and (r[0] != prev[0] or r[1] != prev[1]):
                _note(newest, prev)
            prev = r
        if prev is not None:
            _note(newest, prev)

    @staticmethod
    async def _copy_fresh_ticks(conn: asyncpg.Connection, ticks: Sequence[Tick]) -> int:
        """A live flush holds ticks newer than everything stored of their symbols: COPY them
        straight into ``ticks`` (no staging table, no ON CONFLICT probe per row). Should a key
        be stored already or repeat in the batch (a replay), the COPY fails whole and the
        staging path ignores the stored keys as ``write_ticks`` does."""
        try:
            async with conn.transaction():  # a savepoint: a failed COPY leaves nothing
                await conn.copy_records_to_table("ticks", records=ticks, columns=_TICK_COLS)
            return len(ticks)
        except asyncpg.UniqueViolationError:
            await conn.copy_records_to_table(_STAGE, records=ticks, columns=_TICK_COLS)
            return _count(await conn.execute(_MOVE_STAGED_TICKS))

    async def get_ticks(self, symbol: str, start: int, end: int) -> list[Tick]:
        rows = await self._fetch(
            f"SELECT {', '.join(_TICK_COLS)} FROM ticks "
            "WHERE symbol=$1 AND ts>=$2 AND ts<$3 ORDER BY ts, seq",
            symbol,
            start,
            end,
        )
        return [Tick(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    # --- candles --------------------------------------------------------------------------
    async def upsert_candles(self, candles: Iterable[Candle]) -> None:
        records, stage = _candle_records(candles)
        if not records:
            return
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await self._write_candle_records(conn, records, stage)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"writing {len(records)} candles failed: {exc}") from exc
        self._note_newest(records)

    async def get_candles(
        self, symbol: str, interval: str, start: int | None, end: int | None, limit: int
    ) -> list[Candle]:
        if limit <= 0:
            return []
        # Sentinels instead of "IS NULL OR": a generic prepared plan still uses the index range.
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62
        rows = await self._fetch(
            f'SELECT {_CANDLE_COLS} FROM candles WHERE symbol=$1 AND "interval"=$2 '
            "AND start>=$3 AND start<$4 ORDER BY start DESC LIMIT $5",
            symbol,
            interval,
            lo,
            hi,
            limit,
        )
        out = [candle_from_row(r) for r in rows]
        out.reverse()
        return out

    async def get_candle(self, symbol: str, interval: str, start: int) -> Candle | None:
        rows = await self._fetch(
            f'SELECT {_CANDLE_COLS} FROM candles WHERE symbol=$1 AND "interval"=$2 AND start=$3',
            symbol,
            interval,
            start,
        )
        return candle_from_row(rows[0]) if rows else None

    async def latest_candles(
        self, interval: str, symbols: Sequence[str] | None = None, skip: int = 0
    ) -> list[Candle]:
        # Per symbol, one backward index probe on (symbol, interval, start): cheap however
        # long the history is, unlike DISTINCT ON over every stored candle.
        source, args = _symbols_then(symbols, interval)
        rows = await self._fetch(
            f"SELECT c.* FROM ({source}) s CROSS JOIN LATERAL ("
            f'SELECT {_CANDLE_COLS} FROM candles WHERE symbol=s.symbol AND "interval"=$1 '
            f"ORDER BY start DESC LIMIT 1 OFFSET {int(skip)}) c ORDER BY c.symbol",
            *args,
        )
        out = [candle_from_row(r) for r in rows]
        if not skip:  # the newest stored: a hint for the writes (one before it is not)
            self._note_newest([(c.symbol, c.interval, c.start) for c in out])
        return out

    async def last_real_days(self, symbols: Sequence[str] | None = None) -> dict[str, date]:
        source, args = _symbols_then(symbols, SIM)
        rows = await self._fetch(
            f"SELECT s.symbol, c.start FROM ({source}) s CROSS JOIN LATERAL ("
            "SELECT start FROM candles WHERE symbol=s.symbol AND \"interval\"='1d' "
            "AND source <> $1 ORDER BY start DESC LIMIT 1) c",
            *args,
        )
        return {r["symbol"]: kst_day(int(r["start"])) for r in rows}

    # --- housekeeping ---------------------------------------------------------------------
    async def apply_retention(
        self,
        now: int,
        tick_days: int | None,
        candle_days: dict[str, int | None],
        keep_sources: Collection[str] = frozenset(),
    ) -> dict[str, int]:
        deleted: dict[str, int] = {}
        cutoffs: dict[str, int] = {}
        keep = sorted(keep_sources)
        dropped = await self._drop_partitions(now, tick_days, candle_days, keep)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if tick_days is not None:
                    cutoff = cutoffs["ticks"] = now - tick_days * US_PER_DAY
                    if self.timescale and not keep:
                        # Whole chunks go at once; DELETE then handles the partial chunk. Not
                        # when some sources are kept: a chunk may hold rows to keep.
                        chunks = await conn.fetch(
                            "SELECT drop_chunks('ticks', older_than => $1::int8)", cutoff
                        )
                        deleted["ticks_chunks"] = len(chunks)
                    status = await conn.execute(
                        "DELETE FROM ticks WHERE ts<$1 AND source <> ALL($2::text[])",
                        cutoff,
                        keep,
                    )
                    deleted["ticks"] = _count(status)
                for interval, days in candle_days.items():
                    if days is None:
                        continue
                    target = f"candles_{interval}"
                    cutoff = cutoffs[target] = now - days * US_PER_DAY
                    status = await conn.execute(
                        'DELETE FROM candles WHERE "interval"=$1 AND start<$2 '
                        "AND source <> ALL($3::text[])",
                        interval,
                        cutoff,
                        keep,
                    )
                    deleted[target] = _count(status)
                logged = [(now, t, cutoffs[t], n) for t, n in deleted.items() if n and t in cutoffs]
                await _log_retention(conn, logged)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"retention failed: {exc}") from exc
        for target, n in dropped.items():
            deleted[target] = deleted.get(target, 0) + n
        return deleted

    async def _drop_partitions(
        self, now: int, tick_days: int | None, candle_days: dict[str, int | None], keep: list[str]
    ) -> dict[str, int]:
        """Day partitions: make the coming days', move rows out of catch-alls, drop the expired
        ones (logged), in a transaction of their own: a drop locks the whole table, so not for
        the length of the row-by-row DELETE that follows."""
        days = {partitions.TICKS: tick_days, partitions.CANDLES_1M: candle_days.get("1m")}
        dropped: dict[str, int] = {}
        try:
            async with self.pool.acquire() as conn:
                for table in self.partitioned:
                    await partitions.maintain(conn, table, now, days[table])
                async with conn.transaction():
                    logged = []
                    for table in self.partitioned:
                        window = days[table]
                        if window is None:
                            continue
                        cutoff = now - window * US_PER_DAY
                        n, rows = await partitions.drop_expired(conn, table, cutoff, keep)
                        dropped[f"{table.target}_partitions"] = n
                        dropped[table.target] = rows
                        if rows:
                            logged.append((now, table.target, cutoff, rows))
                    await _log_retention(conn, logged)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"partition housekeeping failed: {exc}") from exc
        return dropped

    async def retention_log(self, limit: int = 20) -> list[RetentionEntry]:
        rows = await self._fetch(
            "SELECT at, target, cutoff, deleted FROM retention_log "
            "ORDER BY at DESC, id DESC LIMIT $1",
            limit,
        )
        return [RetentionEntry(r[0], r[1], r[2], r[3]) for r in rows]

    def describe(self) -> dict[str, object]:
        pool = self._pool
        return {
            "kind": self.kind,
            "url": redact_url(self.url),
            "timescale": self.timescale,
            "dayPartitioned": [t.parent for t in self.partitioned],
            "poolSize": pool.get_size() if pool is not None else 0,
            "poolIdle": pool.get_idle_size() if pool is not None else 0,
            "ticksWritten": self.ticks_written,
            "ticksIgnored": self.ticks_ignored,
        }

    # --- helpers --------------------------------------------------------------------------
    async def _execute(self, sql: str, *args: Any) -> str:
        try:
            async with self.pool.acquire() as conn:
                return str(await conn.execute(sql, *args))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"PostgreSQL write failed: {exc}") from exc

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        try:
            async with self.pool.acquire() as conn:
                return list(await conn.fetch(sql, *args))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"PostgreSQL read failed: {exc}") from exc
