"""SQLite store, the embedded default: one writer thread batching writes, WAL so readers run
beside it, and nothing that blocks the event loop."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import lru_cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

from aegis.aggregator.batch import CandleTable
from aegis.core.errors import StoreError
from aegis.core.timeutil import kst_day
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.sources import SIM
from aegis.domain.ticks import Tick
from aegis.store.base import RetentionEntry, Store, TickRows
from aegis.store.rows import INSTRUMENT_COLS, candle_from_row, instrument_from_row, instrument_row
from aegis.store.rows import in_key_order as _key_order

T = TypeVar("T")
log = logging.getLogger(__name__)
_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default

_CANDLE_COLS = (
    "symbol, interval, start, open, high, low, close, volume, amount, trades, "
    "first_ts, first_seq, last_ts, last_seq, source"
)
_CANDLE_FIELDS = _CANDLE_COLS.split(", ")  # Candle field order
_CANDLE_WIDTH = len(_CANDLE_FIELDS)
_AMOUNT = _CANDLE_FIELDS.index("amount")
_MAX_INT64 = 2**63 - 1
_TICK_COLS = "symbol, ts, price, volume, side, seq, source"
_TICK_WIDTH = 7
# Many rows per statement: a third less CPU than one execute per row (the statement of a full
# block is compiled once and cached). Rows × parameters stay under SQLite's 32,766.
_TICKS_PER_INSERT = 1_000
_CANDLES_PER_INSERT = 500
_LARGE_FLUSH_ROWS = 50_000  # ticks + candles of a flush checkpointed beside the writer
_candle_values = attrgetter(*_CANDLE_FIELDS)


@lru_cache(maxsize=8)  # the full block and a few tails
def _insert_ticks_sql(rows: int) -> str:
    values = ",".join(["(?,?,?,?,?,?,?)"] * rows)
    return f"INSERT OR IGNORE INTO ticks ({_TICK_COLS}) VALUES {values}"


@lru_cache(maxsize=8)
def _upsert_candles_sql(rows: int) -> str:
    # An UPSERT updates a stored row in place; INSERT OR REPLACE deleted and re-inserted it
    # (measured on a sparse flush: a third less CPU). Every column is set, so the row is the
    # same; a later row of the same key in the same statement still wins.
    values = ",".join([f"({','.join('?' * _CANDLE_WIDTH)})"] * rows)
    sets = ", ".join(f"{c}=excluded.{c}" for c in _CANDLE_FIELDS[3:])
    return (
        f"INSERT INTO candles ({_CANDLE_COLS}) VALUES {values} "
        f"ON CONFLICT(symbol, interval, start) DO UPDATE SET {sets}"
    )


def _amount_out(a: int | None) -> int | str | None:
    # SQLite integers are int64; larger amounts (crypto) are stored as exact decimal text.
    return a if a is None or a <= _MAX_INT64 else str(a)


def _insert_rows(
    conn: sqlite3.Connection, sql: Callable[[int], str], flat: list[Any], width: int, per: int
) -> None:
    """Rows of ``width`` parameters, given as one flat list, ``per`` rows per statement."""
    step = per * width
    for i in range(0, len(flat), step):
        block = flat[i : i + step]
        conn.execute(sql(len(block) // width), block)


def _candle_params(
    candles: Iterable[Candle], in_key_order: bool = False, *, as_given: bool = False
) -> list[Any]:
    """The candles' columns as one flat parameter list (in C: no Python call per candle).
    ``in_key_order``: rows sorted by the primary key first (stable: of two states of one candle
    the later still comes last). A live flush touches candles of every symbol scattered in
    time order; in key order the B-tree is walked once instead of re-descended at random
    (about 40 % less CPU for the candles of a sparse flush). A ``CandleTable`` (a bulk batch,
    columns: no object per candle) is put in key order from its columns too (its parts hold
    one interval each, symbols in the order they were coded), unless ``as_given``."""
    if isinstance(candles, CandleTable):
        flat: list[Any] = [None] * (_CANDLE_WIDTH * len(candles))
        columns = candles.columns() if as_given else candles.columns_in_key_order()
        for j, col in enumerate(columns):
            flat[j::_CANDLE_WIDTH] = col
    else:
        rows: Iterable[tuple[Any, ...]] = map(_candle_values, candles)
        if in_key_order:
            rows = _key_order(list(rows))
        flat = list(chain.from_iterable(rows))
    amounts = flat[_AMOUNT::_CANDLE_WIDTH]
    if any(a is not None and a > _MAX_INT64 for a in amounts):  # rare: crypto amounts
        flat[_AMOUNT::_CANDLE_WIDTH] = [_amount_out(a) for a in amounts]
    return flat


def _write_candles(conn: sqlite3.Connection, flat: list[Any]) -> None:
    _insert_rows(conn, _upsert_candles_sql, flat, _CANDLE_WIDTH, _CANDLES_PER_INSERT)


def _ticks_then_candles(
    conn: sqlite3.Connection, insert_ticks: Callable[[], None], candle_flat: list[Any]
) -> int:
    """Ticks, then their candles, in the caller's transaction: the number of new ticks."""
    before = conn.total_changes
    insert_ticks()
    written = conn.total_changes - before
    _write_candles(conn, candle_flat)
    return written


def _distinct_symbols(conn: sqlite3.Connection, table: str) -> list[str]:
    """Symbols present in ``table``, by hopping along its primary key (a loose index scan)
    rather than reading every row."""
    sql = (
        f"WITH RECURSIVE s(sym) AS (SELECT MIN(symbol) FROM {table} UNION ALL "
        f"SELECT (SELECT MIN(symbol) FROM {table} WHERE symbol > s.sym) FROM s "
        "WHERE s.sym IS NOT NULL) SELECT sym FROM s WHERE sym IS NOT NULL"
    )
    return [r[0] for r in conn.execute(sql)]


def connect(path: Path | str, busy_ms: int = 10_000) -> sqlite3.Connection:
    """A connection as the store opens them (WAL, autocommit: each write says BEGIN)."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    return conn


def stage_candles(path: Path | str, candles: CandleTable) -> int:
    """A scratch SQLite file at ``path`` (replaced) holding ``candles`` in the given order, for
    ``SQLiteStore.load_staged``: another process (the simulator's child making previous
    sessions) turns its columns into rows there, so the store's process copies them in C
    without a Python object per value. No journal and no sync: the file is made again if
    anything fails before it is loaded. The number of candles."""
    Path(path).unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        # a plain table: rows appended in the given order, copied in that order
        conn.execute(f"CREATE TABLE candles ({_CANDLE_COLS})")
        conn.execute("BEGIN")
        for part in candles.parts:
            for i in range(0, len(part), _STAGE_CANDLES):
                piece = CandleTable([part.take(slice(i, i + _STAGE_CANDLES))])
                _insert_rows(conn, _stage_candles_sql, _candle_params(piece, as_given=True),
                             _CANDLE_WIDTH, _CANDLES_PER_INSERT)  # fmt: skip
        conn.execute("COMMIT")
    finally:
        conn.close()
    return len(candles)


_STAGE_CANDLES = 50_000  # parameters built this many candles at a time


@lru_cache(maxsize=8)
def _stage_candles_sql(rows: int) -> str:
    values = ",".join([f"({','.join('?' * _CANDLE_WIDTH)})"] * rows)
    return f"INSERT INTO candles ({_CANDLE_COLS}) VALUES {values}"


class SQLiteStore(Store):
    kind = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="sqlite-reader")
        # checkpoints after bulk writes (``_write``'s ``bulk``), one at a time
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self._checkpoint_due = False
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.ticks_written = 0
        self._closed = False

    # --- connections ----------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    async def _write(self, fn: Callable[[sqlite3.Connection], T], bulk: bool = False) -> T:
        """``fn`` in one transaction in the writer thread. ``bulk`` (hundreds of MB of pages
        at once: a morning of the market, a previous session): the commit does not copy
        them into the database file itself (SQLite's automatic checkpoint, in the committing
        thread, took ~1 s of every such write); a passive checkpoint in another thread does,
        beside the writer's next work. The same pages reach the same file, with the same
        syncs, a little later: durability is that of ``synchronous=NORMAL`` as before."""

        def run() -> T:
            conn = self._conn()
            if bulk:
                conn.execute("PRAGMA wal_autocheckpoint=0")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if bulk:
                    conn.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
                    self._checkpoint_soon()
            return result

        try:
            return await asyncio.get_running_loop().run_in_executor(self._writer, run)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite write failed: {exc}") from exc

    def _checkpoint_soon(self) -> None:
        with self._lock:
            if self._checkpoint_due or self._closed:
                return
            self._checkpoint_due = True
        self._checkpointer.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        with self._lock:
            self._checkpoint_due = False
            if self._closed:
                return
        try:
            # passive: waits for no reader or writer (what it cannot copy yet, the next does)
            self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # the automatic checkpoints of later commits catch up
            log.warning("sqlite checkpoint failed: %s", exc)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._readers, lambda: fn(self._conn())
            )
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite read failed: {exc}") from exc

    async def start(self) -> None:
        if not self.path.exists():
            raise StoreError(f"no database at {self.path}: run `aegis db upgrade` first")

        def check(conn: sqlite3.Connection) -> str | None:
            try:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError:
                return None
            return None if row is None else str(row[0])

        version = await self._read(check)
        from aegis.store.migrate import current_head  # alembic: not for ``stage_candles``

        if version != current_head():
            raise StoreError(
                f"database {self.path} is at schema {version}, expected {current_head()}: "
                "run `aegis db upgrade`"
            )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close_all() -> None:
            with self._lock:
                for c in self._conns:
                    c.close()
                self._conns.clear()

        # Drain the writer first: queued writes complete before the connections close.
        await asyncio.get_running_loop().run_in_executor(self._writer, lambda: None)
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._checkpointer.shutdown(wait=True)  # a checkpoint under way ends first
        close_all()

    # --- instruments ----------------------------------------------------------------------
    async def upsert_instruments(self, items: Sequence[Instrument]) -> None:
        rows = [instrument_row(i) for i in items]

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                f"INSERT INTO instruments ({INSTRUMENT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(symbol) DO UPDATE SET name=excluded.name, name_en=excluded.name_en, "
                "market=excluded.market, kind=excluded.kind, industry=excluded.industry, "
                "shares=excluded.shares, price_scale=excluded.price_scale, "
                "qty_scale=excluded.qty_scale, prev_close=excluded.prev_close, "
                "listing_date=excluded.listing_date, products=excluded.products",
                rows,
            )

        await self._write(run)

    async def list_instruments(self) -> list[Instrument]:
        def run(conn: sqlite3.Connection) -> list[Instrument]:
            cur = conn.execute(
                f"SELECT company_id, {INSTRUMENT_COLS} FROM instruments ORDER BY company_id"
            )
            return [instrument_from_row(r) for r in cur]

        return await self._read(run)

    # --- ticks ----------------------------------------------------------------------------
    async def write_ticks(self, ticks: Sequence[Tick]) -> int:
        if not ticks:
            return 0

        def run(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            flat = list(chain.from_iterable(ticks))
            _insert_rows(conn, _insert_ticks_sql, flat, _TICK_WIDTH, _TICKS_PER_INSERT)
            return conn.total_changes - before

        n = await self._write(run)
        self.ticks_written += n
        return n

    async def write_flush(self, ticks: Sequence[Tick], candles: Sequence[Candle]) -> int:
        # One transaction: one commit (one WAL append and at most one checkpoint) per flush
        # instead of two, and no ticks stored without their candles.
        def run(conn: sqlite3.Connection) -> int:
            # parameters built in the writer thread, as in write_ticks: not on the event loop
            flat = list(chain.from_iterable(ticks))
            candle_flat = _candle_params(candles, in_key_order=True)
            return _ticks_then_candles(
                conn,
                lambda: _insert_rows(conn, _insert_ticks_sql, flat, _TICK_WIDTH, _TICKS_PER_INSERT),
                candle_flat,
            )

        # A large flush (the writer was behind: a backlog, a sparse market's hundreds of
        # thousands of ticks) dirties most pages of both tables: its commit's automatic
        # checkpoint took ~1 s per million ticks of the writer thread, the thread the next
        # flush waits for. Such a flush leaves it to the checkpoint thread, as bulk writes do.
        large = len(ticks) + len(candles) >= _LARGE_FLUSH_ROWS
        written = await self._write(run, bulk=large)
        self.ticks_written += written
        return written

    async def import_ticks(
        self,
        columns: TickRows,
        candles: Sequence[Candle],
        progress: Callable[[int], None] | None = None,
        chunk: int = 50_000,
    ) -> int:
        # One transaction: an interrupted import leaves nothing behind (no ticks without their
        # candles), and the parameters come straight from the columns, no tuple per row, a
        # chunk at a time (the parameter list of a whole large batch would double its memory).
        n = len(columns)
        source = columns.source
        candle_flat = _candle_params(candles)

        def insert_ticks(conn: sqlite3.Connection) -> None:
            for i in range(0, n, chunk):
                m = min(chunk, n - i)
                block: list[Any] = [None] * (_TICK_WIDTH * m)
                cols: tuple[list[Any], ...] = columns.rows(i, i + m).lists()
                for j, col in enumerate(cols):
                    block[j::_TICK_WIDTH] = col
                block[6::_TICK_WIDTH] = [source] * m
                _insert_rows(conn, _insert_ticks_sql, block, _TICK_WIDTH, _TICKS_PER_INSERT)
                if progress is not None:
                    progress(m)

        def run(conn: sqlite3.Connection) -> int:
            return _ticks_then_candles(conn, lambda: insert_ticks(conn), candle_flat)

        written = await self._write(run, bulk=True)
        self.ticks_written += written
        return written

    async def tick_keys(self, symbol: str, start: int, end: int) -> set[tuple[int, int]]:
        def run(conn: sqlite3.Connection) -> set[tuple[int, int]]:
            # the keys only, straight from the primary key: no Tick built per stored row
            cur = conn.execute(
                "SELECT ts, seq FROM ticks WHERE symbol=? AND ts>=? AND ts<?", (symbol, start, end)
            )
            return set(cur)

        return await self._read(run)

    async def get_ticks(self, symbol: str, start: int, end: int) -> list[Tick]:
        def run(conn: sqlite3.Connection) -> list[Tick]:
            cur = conn.execute(
                "SELECT symbol, ts, price, volume, side, seq, source FROM ticks "
                "WHERE symbol=? AND ts>=? AND ts<? ORDER BY ts, seq",
                (symbol, start, end),
            )
            return [Tick._make(r) for r in cur]

        return await self._read(run)

    # --- candles --------------------------------------------------------------------------
    async def upsert_candles(self, candles: Iterable[Candle]) -> None:
        flat = _candle_params(candles)
        if flat:
            # columns: generated history, written in large slices
            bulk = isinstance(candles, CandleTable)
            await self._write(lambda conn: _write_candles(conn, flat), bulk=bulk)

    async def load_staged(self, path: Path | str) -> int:
        """``upsert_candles`` of the candles of a ``stage_candles`` file, in its order, in one
        transaction (a crash stores none of them), copied by SQLite itself: the writer thread
        holds the GIL for none of it. The number of candles."""
        sets = ", ".join(f"{c}=excluded.{c}" for c in _CANDLE_FIELDS[3:])
        sql = (
            f"INSERT INTO main.candles ({_CANDLE_COLS}) SELECT {_CANDLE_COLS} FROM staged.candles "
            f"WHERE true ORDER BY rowid ON CONFLICT(symbol, interval, start) DO UPDATE SET {sets}"
        )

        def copy(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            conn.execute(sql)
            return conn.total_changes - before

        def attach(conn: sqlite3.Connection) -> None:
            conn.execute("ATTACH DATABASE ? AS staged", (str(path),))  # not in a transaction

        def detach(conn: sqlite3.Connection) -> None:
            conn.execute("DETACH DATABASE staged")

        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._writer, lambda: attach(self._conn()))
            try:
                return await self._write(copy, bulk=True)
            finally:
                await loop.run_in_executor(self._writer, lambda: detach(self._conn()))
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite write failed: {exc}") from exc

    async def get_candles(
        self, symbol: str, interval: str, start: int | None, end: int | None, limit: int
    ) -> list[Candle]:
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62

        def run(conn: sqlite3.Connection) -> list[Candle]:
            cur = conn.execute(
                f"SELECT {_CANDLE_COLS} FROM candles WHERE symbol=? AND interval=? "
                "AND start>=? AND start<? ORDER BY start DESC LIMIT ?",
                (symbol, interval, lo, hi, limit),
            )
            out = [candle_from_row(r) for r in cur]
            out.reverse()
            return out

        return await self._read(run)

    async def candles_json(
        self,
        symbol: str,
        interval: str,
        start: int | None,
        end: int | None,
        limit: int,
        price_scale: int,
        qty_scale: int,
    ) -> bytes | None:
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62

        def num(col: str, scale: int) -> str:
            # exact decimal text from the integer minor units (JSON number), like the Python path
            if scale == 0:
                return col
            unit = 10**scale
            return f"json(({col} / {unit}) || '.' || printf('%0{scale}d', {col} % {unit}))"

        p = price_scale
        a = p + qty_scale
        # an amount beyond int64 is stored as decimal text (``_amount_out``): CAST would clamp
        # it to int64's maximum, so its point is placed in the text (≥ 19 digits > any scale)
        big = (
            "amount"
            if a == 0
            else (
                f"substr(amount, 1, length(amount) - {a}) || '.' || "
                f"substr(amount, length(amount) - {a} + 1)"
            )
        )
        amount = (
            f"CASE WHEN typeof(amount) = 'text' THEN json({big}) "
            f"ELSE {num('CAST(amount AS INTEGER)', a)} END"
        )
        sql = (
            "SELECT json_group_array(json_object('time', start / 1000000, "
            f"'open', {num('open', p)}, 'high', {num('high', p)}, 'low', {num('low', p)}, "
            f"'close', {num('close', p)}, 'volume', {num('volume', qty_scale)}, "
            f"'amount', {amount}, 'source', source)) "
            "FROM (SELECT * FROM (SELECT start, open, high, low, close, volume, amount, source "
            "FROM candles WHERE symbol=? AND interval=? AND start>=? AND start<? "
            "ORDER BY start DESC LIMIT ?) ORDER BY start)"
        )

        def run(conn: sqlite3.Connection) -> bytes:
            row = conn.execute(sql, (symbol, interval, lo, hi, limit)).fetchone()
            return str(row[0]).encode()

        return await self._read(run)

    async def get_candle(self, symbol: str, interval: str, start: int) -> Candle | None:
        def run(conn: sqlite3.Connection) -> Candle | None:
            row = conn.execute(
                f"SELECT {_CANDLE_COLS} FROM candles WHERE symbol=? AND interval=? AND start=?",
                (symbol, interval, start),
            ).fetchone()
            return None if row is None else candle_from_row(row)

        return await self._read(run)

    async def latest_candles(
        self, interval: str, symbols: Sequence[str] | None = None, skip: int = 0
    ) -> list[Candle]:
        def run(conn: sqlite3.Connection) -> list[Candle]:
            syms = symbols
            if syms is None:
                syms = _distinct_symbols(conn, "candles")
            out: list[Candle] = []
            for s in syms:
                row = conn.execute(
                    f"SELECT {_CANDLE_COLS} FROM candles WHERE symbol=? AND interval=? "
                    "ORDER BY start DESC LIMIT 1 OFFSET ?",
                    (s, interval, skip),
                ).fetchone()
                if row is not None:
                    out.append(candle_from_row(row))
            return out

        return await self._read(run)

    async def last_real_days(self, symbols: Sequence[str] | None = None) -> dict[str, date]:
        def run(conn: sqlite3.Connection) -> dict[str, date]:
            syms = _distinct_symbols(conn, "candles") if symbols is None else symbols
            out: dict[str, date] = {}
            for s in syms:  # one walk of the symbol's daily range on the primary key
                row = conn.execute(
                    "SELECT MAX(start) FROM candles WHERE symbol=? AND interval='1d' "
                    "AND source != ?",
                    (s, SIM),
                ).fetchone()
                if row is not None and row[0] is not None:
                    out[s] = kst_day(int(row[0]))
            return out

        return await self._read(run)

    # --- housekeeping ---------------------------------------------------------------------
    async def apply_retention(
        self,
        now: int,
        tick_days: int | None,
        candle_days: dict[str, int | None],
        keep_sources: Collection[str] = frozenset(),
    ) -> dict[str, int]:
        day = 86_400_000_000
        keep = sorted(keep_sources)
        # rows of these sources stay whatever their age (bound parameters, never text)
        spare = f" AND source NOT IN ({','.join('?' * len(keep))})" if keep else ""

        def run(conn: sqlite3.Connection) -> dict[str, int]:
            deleted: dict[str, int] = {}
            cutoffs: dict[str, int] = {}
            symbols = _distinct_symbols(conn, "ticks")
            if tick_days is not None:
                cutoff = cutoffs["ticks"] = now - tick_days * day
                before = conn.total_changes
                conn.executemany(
                    f"DELETE FROM ticks WHERE symbol=? AND ts<?{spare}",
                    [(s, cutoff, *keep) for s in symbols],
                )
                deleted["ticks"] = conn.total_changes - before
            symbols = _distinct_symbols(conn, "candles")
            for interval, days in candle_days.items():
                if days is None:
                    continue
                target = f"candles_{interval}"
                cutoff = cutoffs[target] = now - days * day
                before = conn.total_changes
                conn.executemany(
                    f"DELETE FROM candles WHERE symbol=? AND interval=? AND start<?{spare}",
                    [(s, interval, cutoff, *keep) for s in symbols],
                )
                deleted[target] = conn.total_changes - before
            conn.executemany(
                "INSERT INTO retention_log (at, target, cutoff, deleted) VALUES (?,?,?,?)",
                [(now, t, cutoffs[t], n) for t, n in deleted.items() if n],
            )
            return deleted

        return await self._write(run)

    async def retention_log(self, limit: int = 20) -> list[RetentionEntry]:
        def run(conn: sqlite3.Connection) -> list[RetentionEntry]:
            cur = conn.execute(
                "SELECT at, target, cutoff, deleted FROM retention_log "
                "ORDER BY at DESC, id DESC LIMIT ?",
                (limit,),
            )
            return [RetentionEntry._make(r) for r in cur]

        return await self._read(run)

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "path": str(self.path), "ticksWritten": self.ticks_written}
