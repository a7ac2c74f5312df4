"""One trading process at a time: the trading lease.

The trading service keeps each account's state in memory and writes its event log as the
single writer per account; the paper broker matches against the tape; strategy runners and
live KIS connections run inside it. Two processes doing that over one database would fill the
same paper order twice and run every strategy twice. So only the API process that holds the
trading lease runs the trading service; every other one is a **standby**: its trading routes
answer 503 ``TRADING_STANDBY`` saying which process trades, and it takes over (rebuilding
every account from the event log, resuming strategies and live connections) the moment the
holder's lease ends.

The lease is the leader lock of ``services.leader`` under its own key: a PostgreSQL session
advisory lock in server mode (freed when the holder's session ends, kill -9 included), an
exclusive ``flock`` on ``<data_dir>/trading.lock`` in embedded mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aegis.core.config import Settings
from aegis.services.leader import (
    FileLeadership,
    Leadership,
    PostgresLock,
    observe_file,
    observe_lock,
)
from aegis.trading.service import TradingService

log = logging.getLogger(__name__)

# the advisory lock key of the trading lease (the ingest lock is 0x4AE615)
TRADING_LOCK_KEY = 0x4AE616
ROLE = "trading"


def make_trading_leadership(settings: Settings) -> Leadership:
    if settings.database_url and not settings.sim_replay:
        return PostgresLock(settings.database_url, key=TRADING_LOCK_KEY, role=ROLE)
    return FileLeadership(lock_path(settings), role=ROLE)


def lock_path(settings: Settings) -> Path:
    # beside the app database it guards (a replay has its own store and app DB file)
    return settings.data_dir / "trading.lock"


class TradingLease:
    def __init__(
        self,
        settings: Settings,
        start: Callable[[], Awaitable[TradingService]],
        publish: Callable[[TradingService | None], None],
        *,
        leadership: Callable[[], Leadership] | None = None,
    ) -> None:
        """``start`` builds and starts the service once the lease is held; ``publish``
        hands it to the runtime (``None`` when the lease is lost)."""
        self.settings = settings
        self._start = start
        self._publish = publish
        self._factory = leadership or (lambda: make_trading_leadership(settings))
        self._leadership: Leadership | None = None
        self.service: TradingService | None = None
        self._decided = asyncio.Event()  # holding the lease, or known to be standby
        self._failed: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def holding(self) -> bool:
        return self.service is not None

    async def start(self) -> None:
        """Returns once the lease is held and trading runs, or once another process is known
        to hold it (this one then waits in the background as a standby)."""
        self._task = asyncio.create_task(self._run(), name="trading-lease")
        decided = asyncio.create_task(self._decided.wait())
        try:
            await asyncio.wait({self._task, decided}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            decided.cancel()
        if self._failed is not None:
            raise self._failed
        if self._task.done():
            self._task.result()  # raises what ended it

    async def _run(self) -> None:
        while True:
            leadership = self._factory()
            self._leadership = leadership
            waiting = getattr(leadership, "waiting", None)
            watcher = None
            if isinstance(waiting, asyncio.Event):

                async def standby(ev: asyncio.Event = waiting) -> None:
                    await ev.wait()
                    log.warning("trading runs in another process: this one is on standby")
                    self._decided.set()

                watcher = asyncio.create_task(standby())
            try:
                await leadership.acquire()
            finally:
                if watcher is not None:
                    watcher.cancel()
            try:
                self.service = await self._start()
            except BaseException as exc:
                self._failed = exc
                self._decided.set()
                await leadership.release()
                raise
            self._publish(self.service)
            log.info("holding the trading lease: this process trades")
            self._decided.set()
            await leadership.lost.wait()
            log.critical("lost the trading lease: trading stops in this process")
            await self._stop()
            await leadership.release()

    async def _stop(self) -> None:
        service, self.service = self.service, None
        self._publish(None)
        if service is not None:
            await service.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._stop()
        if self._leadership is not None:
            await self._leadership.release()

    async def holder(self) -> str | None:
        """The process that trades, as far as can be seen from here."""
        if self.service is not None:
            return "this process"
        try:
            if isinstance(self._leadership, PostgresLock):
                seen = await observe_lock(self._leadership.url, TRADING_LOCK_KEY)
                return None if seen.get("leader") is None else str(seen["leader"])
            seen = observe_file(lock_path(self.settings))
            return None if seen.get("leader") is None else str(seen["leader"])
        except Exception:
            return None
