"""The event log's SQLite writer: one thread with its own connection that writes a whole group
commit in one call, and a second thread that checkpoints the WAL.

Why (``aegis bench trading``, issue 10): through aiosqlite a fill's transaction cost five
hand-offs between the event loop and the connection's thread (execute, executemany, commit,
and the pool's reset on return); on a shared 2-core machine each hand-off can wait for a CPU
slice, and those waits were most of the p99. Here a transaction is one hand-off there and one
back. And SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages:
that commit copies the WAL into the database and fsyncs it (20–45 ms measured on this
machine). The writer's connection does not checkpoint; the checkpoint thread does, beside it
(a PASSIVE checkpoint takes no lock that a writer needs).

Durability is the engine's (``aegis.db.engine``): WAL with ``synchronous=NORMAL``, so a
commit is in the WAL before it returns and survives a crash of the process (not a power
loss). Checkpoints only copy committed pages from the WAL into the database file; where they
run does not change what is durable.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# a group commit of one fill writes ~5 pages: this keeps the WAL well under SQLite's own
# 1,000-page trigger, which the engine's other connections still have
CHECKPOINT_EVERY_COMMITS = 100


@dataclass(slots=True)
class WriteTimes:
    """When one transaction's steps happened (``time.perf_counter()``); for benchmarks."""

    appends: int = 0
    queued: float = 0.0  # the oldest append in the transaction was called
    submitted: float = 0.0  # handed to the writer thread
    began: float = 0.0  # the writer thread started on it
    committed: float = 0.0  # COMMIT returned
    resumed: float = 0.0  # the event loop has the result


@dataclass(slots=True)
class Row:
    """One append: its events' parameters (without the account id) and its fill's, if any."""

    account_id: int
    events: Sequence[tuple[Any, ...]]
    fill: tuple[Any, ...] | None


@dataclass
class _Stats:
    checkpoints: int = 0
    # the latest checkpoints' durations (bounded: a server commits for weeks)
    checkpoint_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=1_000))


def connect(path: str) -> sqlite3.Connection:
    """A connection with the engine's pragmas, no automatic checkpoint, and explicit
    transactions (autocommit mode: we say BEGIN and COMMIT)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


class SqliteWriter:
    """Each connection is used by its own thread only (opened there, lazily)."""

    def __init__(self, path: str, events_sql: str, fills_sql: str) -> None:
        self.path = path
        self._events_sql = events_sql
        self._fills_sql = fills_sql
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="trading-eventlog-writer")
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="trading-eventlog-ckpt")
        self._conn: sqlite3.Connection | None = None
        self._ckpt_conn: sqlite3.Connection | None = None
        self._since_checkpoint = 0
        self._ckpt_pending: Future[None] | None = None
        self.stats = _Stats()

    def submit(self, rows: Sequence[Row]) -> Future[tuple[list[list[int]], float, float]]:
        return self._writer.submit(self._write, rows)

    def _write(self, rows: Sequence[Row]) -> tuple[list[list[int]], float, float]:
        """On the writer thread: one transaction; each append's event ids, and when the
        transaction began and committed."""
        began = time.perf_counter()
        if self._conn is None:
            self._conn = connect(self.path)
        conn = self._conn
        ids: list[list[int]] = []
        # IMMEDIATE: take the write lock now (waiting up to busy_timeout for the engine's
        # connections) rather than fail to upgrade a read lock later
        conn.execute("BEGIN IMMEDIATE")
        try:
            fills = []
            for r in rows:
                out = []
                for params in r.events:
                    cur = conn.execute(self._events_sql, (r.account_id, *params))
                    assert cur.lastrowid is not None
                    out.append(cur.lastrowid)
                ids.append(out)
                if r.fill is not None:
                    fills.append(r.fill)
            if fills:
                conn.executemany(self._fills_sql, fills)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        committed = time.perf_counter()
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY_COMMITS and (
            self._ckpt_pending is None or self._ckpt_pending.done()
        ):
            self._since_checkpoint = 0
            self._ckpt_pending = self._checkpointer.submit(self._checkpoint)
        return ids, began, committed

    def _checkpoint(self) -> None:
        """On the checkpoint thread. PASSIVE: copies what no reader still needs and never
        waits for the writer (a failed or partial checkpoint is retried at the next one)."""
        t0 = time.perf_counter()
        try:
            if self._ckpt_conn is None:
                self._ckpt_conn = connect(self.path)
            self._ckpt_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            log.exception("event log WAL checkpoint failed (retried after the next commits)")
            return
        self.stats.checkpoints += 1
        self.stats.checkpoint_seconds.append(time.perf_counter() - t0)

    def close(self) -> None:
        """Waits for writes in flight (the caller waits for its appends first)."""
        self._writer.shutdown(wait=True)
        self._checkpointer.shutdown(wait=True)
        for conn in (self._conn, self._ckpt_conn):
            if conn is not None:
                conn.close()
        self._conn = self._ckpt_conn = None
