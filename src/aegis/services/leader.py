"""One ingester at a time: a leader lock that a second ``aegis ingest`` waits on as a hot standby.

- Server mode: a PostgreSQL session advisory lock held on a dedicated connection. PostgreSQL frees
  it the moment the holder's connection ends (kill -9 included), so a waiting standby takes over
  at once. Standbys wait inside ``pg_advisory_lock``, which makes them visible in ``pg_locks``.
  A paused holder (SIGSTOP, a VM freeze) keeps its session and lock: a lease with an epoch lets
  a standby end it within ``LEASE_SECONDS`` and fences its writes should it resume (see
  :class:`PostgresLeadership` and docs/operations.md).
- Embedded mode: an exclusive ``flock`` on ``<data_dir>/ingest.lock`` (freed by the kernel when
  the holder dies).

Losing the lock (the PostgreSQL connection dropped) fences the holder: it must stop writing at
once; the runtime then ends the process, and its supervisor starts it again as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from aegis.core.errors import StoreError
from aegis.core.timeutil import iso_z, now_us

log = logging.getLogger(__name__)

# The advisory lock key (any bigint; below 2**31 so that it is objid alone in pg_locks).
LOCK_KEY = 0x4AE615
POLL_SECONDS = 0.25
# A leader that did not renew its lease for this long is taken over (PostgreSQL).
LEASE_SECONDS = 3.0
LOCK_APP = "aegis-ingest"  # application_name of the lock session: "aegis-ingest host:pid"
STORE_APP = "aegis-ingest-store"  # of the leader's store sessions
EPOCH_SETTING = "aegis.ingest_epoch"  # checked by the fence trigger (migration 0010)


class LeadershipLost(Exception):
    """This process no longer leads ingest: it must not write."""


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership(Protocol):
    kind: str
    lost: asyncio.Event

    async def acquire(self) -> None:
        """Wait until this process leads."""

    async def release(self) -> None: ...

    async def ensure_leading(self) -> None:
        """Return while this process surely leads; raise :class:`LeadershipLost` once not."""

    def describe(self) -> dict[str, Any]: ...


class FileLeadership:
    kind = "file"

    def __init__(self, path: Path, *, role: str = "ingest") -> None:
        self.path = path
        self.role = role  # what the lock guards, for logs ("ingest", "trading")
        self.lost = asyncio.Event()  # a held flock cannot be taken away
        self.waiting = asyncio.Event()  # set when another process holds it and we wait
        self._fd: int | None = None
        self._since: int | None = None

    async def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        warned = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not warned:
                        log.warning(
                            "another process leads %s in %s (%s): waiting as standby",
                            self.role,
                            self.path.parent,
                            _read_holder(self.path),
                        )
                        warned = True
                        self.waiting.set()
                    await asyncio.sleep(POLL_SECONDS)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._since = now_us()
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"node": node_name(), "since": iso_z(self._since)}).encode(), 0)
        log.info("leading %s (file lock %s)", self.role, self.path)

    async def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    async def ensure_leading(self) -> None:
        """A held flock cannot be taken away (nor its holder paused out of it)."""

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "role": "leader" if self._fd is not None else "standby",
            "node": node_name(),
            "since": None if self._since is None else iso_z(self._since),
        }


def _read_holder(path: Path) -> str:
    try:
        return str(json.loads(path.read_text() or "{}").get("node", "unknown"))
    except (OSError, ValueError):
        return "unknown"


class PostgresLeadership:
    """The advisory lock plus a lease: the leader renews ``ingest_lease.renewed_at`` every
    ``lease_seconds / 6``; a standby that finds it older than ``lease_seconds`` (by PostgreSQL's
    clock) ends the stale holder's sessions with ``pg_terminate_backend`` (a paused process keeps
    its TCP session, so its lock would never be freed), takes the lock and bumps the epoch. The
    store's sessions carry the epoch (:meth:`session_settings`) and a trigger refuses their writes
    once it is superseded (migration 0010); :meth:`ensure_leading` fences the bus locally."""

    kind = "postgres-advisory-lock"

    def __init__(self, url: str, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self.url = url
        self.lease_seconds = lease_seconds
        self.lost = asyncio.Event()
        self.epoch: int | None = None
        self._conn: asyncpg.Connection | None = None
        self._since: int | None = None
        self._leading = False
        self._valid_until = 0.0  # monotonic: the lease surely still holds before this
        self._renewed = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        conn = await asyncpg.connect(
            self.url, server_settings={"application_name": f"{LOCK_APP} {node_name()}"}
        )
        try:
            # wait inside pg_advisory_lock (standbys show in pg_locks), a short while at a time:
            # between waits, look whether the holder still renews its lease
            await conn.execute(f"SET lock_timeout = {round(self.lease_seconds * 1000 / 6)}")
            warned = False
            while True:
                try:
                    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
                    break
                except asyncpg.LockNotAvailableError:
                    if not warned:
                        log.warning("another aegis ingest leads: waiting as standby")
                        warned = True
                    await self._end_stale_holder(conn)
            self.epoch = await self._take_lease(conn)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._conn = conn
        self._since = now_us()
        self._leading = True
        self._valid_until = time.monotonic() + self.lease_seconds / 2
        conn.add_termination_listener(self._on_terminated)
        self._renewer = asyncio.create_task(self._renew_loop(conn), name="ingest-lease")
        log.info("leading ingest (PostgreSQL advisory lock %d, epoch %d)", LOCK_KEY, self.epoch)

    async def _end_stale_holder(self, conn: asyncpg.Connection) -> None:
        """The lock is held: if its lease was not renewed in time, end every session of the
        holder (its lock session and its store's, so no write transaction of it stays open)."""
        try:
            row = await conn.fetchrow(
                "SELECT epoch, holder, backend_pid, "
                "extract(epoch FROM clock_timestamp() - renewed_at)::float8 AS age "
                "FROM ingest_lease WHERE id = 1"
            )
        except asyncpg.UndefinedTableError as exc:
            raise StoreError("no ingest_lease table: run `aegis db upgrade`") from exc
        if row is None or row["age"] <= self.lease_seconds:
            return
        ended = await conn.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND (pid = $1 OR application_name = ANY($2::text[]))",
            row["backend_pid"],
            [f"{LOCK_APP} {row['holder']}", f"{STORE_APP} {row['holder']}"],
        )
        log.warning(
            "ingest leader %s (epoch %d) did not renew its lease for %.1f s: ended %d of its "
            "PostgreSQL sessions to take over",
            row["holder"],
            row["epoch"],
            row["age"],
            ended,
        )

    async def _take_lease(self, conn: asyncpg.Connection) -> int:
        """Bump the epoch. A key update: it waits for the old epoch's write transactions still
        in flight (they lock the row FOR KEY SHARE); every later one sees the new epoch."""
        while True:
            try:
                epoch = await conn.fetchval(
                    "INSERT INTO ingest_lease (id, epoch, holder, backend_pid, renewed_at) "
                    "VALUES (1, 1, $1, pg_backend_pid(), clock_timestamp()) "
                    "ON CONFLICT (id) DO UPDATE SET epoch = ingest_lease.epoch + 1, "
                    "holder = EXCLUDED.holder, backend_pid = EXCLUDED.backend_pid, "
                    "renewed_at = EXCLUDED.renewed_at RETURNING epoch",
                    node_name(),
                )
                return int(epoch)
            except asyncpg.UndefinedTableError as exc:
                raise StoreError("no ingest_lease table: run `aegis db upgrade`") from exc
            except asyncpg.LockNotAvailableError:
                # a write of the old holder is open (it resumed meanwhile): end it again
                await self._end_stale_holder(conn)

    async def _renew_loop(self, conn: asyncpg.Connection) -> None:
        every = self.lease_seconds / 6
        while self._leading:
            sent = time.monotonic()
            try:
                status = await conn.execute(
                    "UPDATE ingest_lease SET renewed_at = clock_timestamp() "
                    "WHERE id = 1 AND epoch = $1",
                    self.epoch,
                    timeout=self.lease_seconds,
                )
            except Exception as exc:  # the session is gone or hangs: the lease cannot hold
                self._lose(f"renewing the lease failed: {type(exc).__name__}: {exc}")
                return
            if status != "UPDATE 1":
                self._lose(f"epoch {self.epoch} was superseded")
                return
            # measured from when the renewal was sent: PostgreSQL stamped it later than that
            self._valid_until = sent + self.lease_seconds / 2
            self._renewed.set()
            self._renewed.clear()
            await asyncio.sleep(every)

    async def ensure_leading(self) -> None:
        """Return while the lease surely holds; after a pause, wait for a renewal first. Raises
        :class:`LeadershipLost` once it is lost."""
        while self._leading and time.monotonic() >= self._valid_until:
            renewed = asyncio.ensure_future(self._renewed.wait())
            lost = asyncio.ensure_future(self.lost.wait())
            try:
                await asyncio.wait({renewed, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                renewed.cancel()
                lost.cancel()
        if not self._leading:
            raise LeadershipLost(f"this process no longer leads ingest (epoch {self.epoch})")

    def session_settings(self) -> dict[str, str]:
        """For the store's sessions: named after this node, carrying the epoch the fence
        trigger checks."""
        assert self.epoch is not None
        return {"application_name": f"{STORE_APP} {node_name()}", EPOCH_SETTING: str(self.epoch)}

    def _on_terminated(self, _conn: Any) -> None:
        self._lose("its PostgreSQL session ended")

    def _lose(self, why: str) -> None:
        if self._leading:
            log.critical("lost the ingest lock (%s): fencing", why)
            self._leading = False
            self.lost.set()

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        self._leading = False
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._renewer
            self._renewer = None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)  # ending the session releases the lock

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "role": "leader" if self._leading else "standby",
            "node": node_name(),
            "since": None if self._since is None else iso_z(self._since),
            "epoch": self.epoch,
        }


class PostgresLock:
    """A plain session advisory lock under its own key (the trading lease): freed when the
    holder's session ends; no ingest lease or epoch (nothing to fence in the store)."""

    kind = "postgres-advisory-lock"

    def __init__(self, url: str, *, key: int, role: str) -> None:
        self.url = url
        self.key = key
        self.role = role  # what the lock guards, for logs and application_name
        self.lost = asyncio.Event()
        self.waiting = asyncio.Event()  # set when another process holds it and we wait
        self._conn: asyncpg.Connection | None = None
        self._since: int | None = None
        self._leading = False

    async def acquire(self) -> None:
        conn = await asyncpg.connect(
            self.url, server_settings={"application_name": f"aegis-{self.role} {node_name()}"}
        )
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                log.warning("another aegis process leads %s: waiting as standby", self.role)
                self.waiting.set()
                # blocks inside PostgreSQL until the holder's session ends; cancellable
                await conn.execute("SELECT pg_advisory_lock($1)", self.key)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._conn = conn
        self._since = now_us()
        self._leading = True
        conn.add_termination_listener(self._on_terminated)
        log.info("leading %s (PostgreSQL advisory lock %d)", self.role, self.key)

    def _on_terminated(self, _conn: Any) -> None:
        if self._leading:
            log.critical("lost the %s lock (its PostgreSQL session ended): fencing", self.role)
            self._leading = False
            self.lost.set()

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        self._leading = False
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)  # ending the session releases the lock

    async def ensure_leading(self) -> None:
        if not self._leading:
            raise LeadershipLost(f"this process no longer leads {self.role}")

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "role": "leader" if self._leading else "standby",
            "node": node_name(),
            "since": None if self._since is None else iso_z(self._since),
        }


async def observe_lock(url: str, key: int) -> dict[str, Any]:
    """Who holds and who waits for a :class:`PostgresLock`, as PostgreSQL sees it."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """
            SELECT a.application_name AS name, l.granted, a.backend_start
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1
            ORDER BY a.backend_start
            """,
            key,
        )
    finally:
        await conn.close()

    def node(name: str) -> str:
        return name.split(" ", 1)[-1]  # "aegis-<role> <host:pid>"

    leader = next((r for r in rows if r["granted"]), None)
    return {
        "kind": PostgresLock.kind,
        "leader": None if leader is None else node(leader["name"]),
        "standbys": [node(r["name"]) for r in rows if not r["granted"]],
    }


async def observe_postgres(url: str) -> dict[str, Any]:
    """Who leads and who waits, as PostgreSQL sees it (for processes that do not ingest). A
    standby is any other lock session: it waits inside ``pg_advisory_lock`` or looks at the
    lease between two waits."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """
            SELECT a.application_name AS name, EXISTS (
                SELECT 1 FROM pg_locks l
                JOIN pg_database d ON d.oid = l.database AND d.datname = current_database()
                WHERE l.pid = a.pid AND l.granted AND l.locktype = 'advisory'
                  AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1
            ) AS granted
            FROM pg_stat_activity a
            WHERE a.datname = current_database() AND a.application_name LIKE $2
            ORDER BY a.backend_start
            """,
            LOCK_KEY,
            f"{LOCK_APP} %",
        )
        epoch = None
        if await conn.fetchval("SELECT to_regclass('ingest_lease') IS NOT NULL"):
            epoch = await conn.fetchval("SELECT epoch FROM ingest_lease WHERE id = 1")
    finally:
        await conn.close()

    def node(name: str) -> str:
        return name.removeprefix(f"{LOCK_APP} ")

    leader = next((r for r in rows if r["granted"]), None)
    return {
        "kind": PostgresLeadership.kind,
        "leader": None if leader is None else node(leader["name"]),
        "standbys": [node(r["name"]) for r in rows if not r["granted"]],
        "epoch": epoch,
    }


def observe_file(path: Path) -> dict[str, Any]:
    held = False
    if path.exists():
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            held = True
        finally:
            os.close(fd)  # also drops the shared lock if it was granted
    return {
        "kind": FileLeadership.kind,
        "leader": _read_holder(path) if held else None,
        "standbys": [],
    }
