"""One ingester at a time: a leader lock that a second ``aegis ingest`` waits on as a hot standby.

- Server mode: a PostgreSQL session advisory lock held on a dedicated connection. PostgreSQL frees
  it the moment the holder's connection ends (kill -9 included), so a waiting standby takes over
  at once. Standbys wait inside ``pg_advisory_lock``, which makes them visible in ``pg_locks``.
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
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from aegis.core.timeutil import iso_z, now_us

log = logging.getLogger(__name__)

# The advisory lock key (any bigint; below 2**31 so that it is objid alone in pg_locks).
LOCK_KEY = 0x4AE615
POLL_SECONDS = 0.25


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership(Protocol):
    kind: str
    lost: asyncio.Event

    async def acquire(self) -> None:
        """Wait until this process leads."""

    async def release(self) -> None: ...

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
    kind = "postgres-advisory-lock"

    def __init__(self, url: str, *, key: int = LOCK_KEY, role: str = "ingest") -> None:
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

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "role": "leader" if self._leading else "standby",
            "node": node_name(),
            "since": None if self._since is None else iso_z(self._since),
        }


async def observe_postgres(url: str, key: int = LOCK_KEY) -> dict[str, Any]:
    """Who leads and who waits, as PostgreSQL sees it (for processes that do not ingest)."""
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
        "kind": PostgresLeadership.kind,
        "leader": None if leader is None else node(leader["name"]),
        "standbys": [node(r["name"]) for r in rows if not r["granted"]],
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
