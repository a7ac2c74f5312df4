"""The previous sessions at full resolution: each simulated day the chain played before the
current one, generated whole (the same engine as a live day, all at once, no ``Tick`` objects)
and folded into candles of every stored interval. Only candles are kept, not ticks (five
sessions of the whole market would be tens of millions of rows). The folded 1d candle replaces
the day's seeded daily candle, so a day's 1-minute candles aggregate exactly to the daily candle
shown for it (open/high/low/close are the chain's by construction; volume is the generated one).

Days and stocks that are real in the store (before each one's anchor) are not touched."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from aegis.aggregator.batch import CandleTable, fold_columns
from aegis.core.timeutil import KST_OFFSET_US
from aegis.domain import krx
from aegis.domain.sources import SIM
from aegis.sources.sim.calendar import US_PER_MIN
from aegis.sources.sim.daily import Anchors, DailyChain
from aegis.sources.sim.session import normal_day
from aegis.sources.sim.universe import Universe

log = logging.getLogger(__name__)

RATE = 50.0  # their trades per simulated second (at most the live rate): same volume, fewer prints
SESSION_CHUNK_US = 60_000_000
# a session whose candles of this (symbol, interval) are stored counts as stored
# (``history_seed.sessions_without_minutes``); a session is stored in one transaction
MARK = ("KOSPI", "1m")


def regular_session(ts: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which KRX trade times are not in an off-hours session (``krx.off_hours``, vectorised)."""
    minute = (ts + KST_OFFSET_US) // US_PER_MIN % (24 * 60)
    off = np.zeros(len(ts), dtype=bool)
    for a, b in krx.OFF_HOURS_MINUTES:
        off |= (minute >= a) & (minute < b)
    return ~off


def session_candles(
    u: Universe, chain: DailyChain, seed: int, day: date, rate: float, emit: NDArray[np.bool_]
) -> CandleTable:
    """Every stored interval's candles of the simulated session ``day`` (source ``sim``), as
    columns (no ``Candle`` per candle: a whole-market session is ~600,000 of them), each
    interval's by symbol in text order (the store's key order), then by start."""
    if day <= chain.anchors.first_day:
        return CandleTable([])  # before the chain: real data, or nothing
    engine = normal_day(u, chain, seed, day, rate, emit, chunk_us=SESSION_CHUNK_US)
    cols = engine.session_columns()
    m = regular_session(cols.ts)  # off-hours trades are in no candle (``krx.off_hours``)
    # codes renumbered in the symbols' text order: the candles come out in key order
    names = engine.names
    by_text = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), np.int64)
    rank[by_text] = np.arange(len(names))
    parts = fold_columns(
        rank[cols.code[m]], [names[i] for i in by_text], cols.ts[m], cols.seq[m],
        cols.price[m], cols.volume[m], SIM,
    )  # fmt: skip
    # an index whose real series reaches this day keeps it
    real_index = {ix.symbol for ix in u.indices if not chain.index_live(ix.symbol, day)}
    real = [int(rank[k]) for k, s in enumerate(names) if s in real_index]
    if real:
        parts = [p.take(~np.isin(p.code, real)) for p in parts]
    return CandleTable(parts)


def of_known(candles: CandleTable, known: Collection[str] | None) -> CandleTable:
    """The candles of the symbols in ``known`` (all without it), as the ingest service keeps."""
    if known is None:
        return candles
    return CandleTable(
        [p.take(np.array([s in known for s in p.names], dtype=bool)[p.code]) for p in candles.parts]
    )


def stage_session(
    u: Universe, chain: DailyChain, seed: int, day: date, rate: float, emit: NDArray[np.bool_],
    into: str, known: Collection[str] | None,
) -> int:  # fmt: skip
    """``session_candles`` written as rows into a scratch SQLite file at ``into``
    (``stage_candles``), which the store then copies in C (``SQLiteStore.load_staged``): the
    server's process does not turn 600,000 candles into SQL parameters while it stores today's
    morning (it spent as long on that as the child on making them). The number of candles."""
    from aegis.store.sqlite import stage_candles

    candles = session_candles(u, chain, seed, day, rate, emit)
    return stage_candles(into, of_known(candles, known))


@dataclass(frozen=True, slots=True)
class Staging:
    """How previous sessions reach a SQLite store: staged by the child process as a scratch
    file in ``folder`` (of the symbols in ``known``), then copied in by ``load``
    (``SQLiteStore.load_staged``)."""

    folder: Path
    load: Callable[[Path], Awaitable[int]]
    known: frozenset[str] | None = None

    def path(self, day: date) -> Path:
        return self.folder / f"sim-session-{day.isoformat()}.staged"

    def clear(self) -> None:
        """Scratch files a run that stopped before loading them left behind."""
        for f in self.folder.glob("sim-session-*.staged"):
            f.unlink(missing_ok=True)


# the child process's universe and chain (``SessionMaker``): the universe when it starts, the
# chain once the parent knows the anchors (``SessionMaker.use_anchors``)
_made_from: tuple[Universe, DailyChain, int, NDArray[np.bool_]] | None = None
_child_args: tuple[Universe, int, NDArray[np.bool_]] | None = None


def _start_child(u: Universe, seed: int, emit: NDArray[np.bool_]) -> None:
    global _child_args
    _exit_with_parent()
    # background work: on a busy machine the server (today's morning, live ticks) goes first;
    # on an idle core this changes nothing
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)
    _child_args = (u, seed, emit)
    # what making and staging a session imports, while the server seeds the daily history
    import aegis.store.sqlite  # noqa: F401


def _exit_with_parent() -> None:
    """A server killed with SIGKILL (or by the OOM killer) leaves its pool's worker waiting on
    a queue whose writing end the worker holds itself: it would idle on, ~250 MB, forever,
    and the next start spawns another. The parent's sentinel becomes ready when it dies."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _ready() -> None:
    """Nothing: submitted so that the child starts (and imports) at once."""


def _anchors_in_child(anchors: Anchors) -> None:
    global _made_from
    assert _child_args is not None
    u, seed, emit = _child_args
    _made_from = (u, DailyChain(u, seed, anchors), seed, emit)


def _session_in_child(day: date, rate: float) -> CandleTable:
    assert _made_from is not None
    u, chain, seed, emit = _made_from
    return session_candles(u, chain, seed, day, rate, emit)


def _stage_in_child(day: date, rate: float, into: str, known: frozenset[str] | None) -> int:
    assert _made_from is not None
    u, chain, seed, emit = _made_from
    return stage_session(u, chain, seed, day, rate, emit, into, known)


class SessionMaker:
    """``session_candles`` one session at a time in a child process: its generation runs on
    the machine's other core instead of sharing this process's GIL with the store's writer
    and the event loop, which store today's morning and the session before meanwhile. The
    child gets the universe when it starts and the chain's anchors once (``use_anchors``), so
    it makes the very candles this process would (tested). Where no process can be started,
    in a thread here."""

    def __init__(
        self, u: Universe, seed: int, anchors: Anchors | None, emit: NDArray[np.bool_]
    ) -> None:
        self._u, self._seed, self._emit = u, seed, emit
        self._anchors: Anchors | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._chain: DailyChain | None = None  # in-process fallback only
        self._one_thread = asyncio.Lock()  # the fallback makes one session at a time too
        try:
            # spawn: a fork of a process with threads (the store's, the loop's) is unsafe
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child, initargs=(u, seed, emit),
            )  # fmt: skip
            # started now, not at the first session: its start-up (a new interpreter and its
            # imports, ~2 s here) overlaps what the server does before the anchors are known
            self._pool.submit(_ready)
        except (OSError, ValueError, RuntimeError):
            log.warning("no child process for the previous sessions: made in a thread")
            self.close()
        if anchors is not None:
            self.use_anchors(anchors)

    def use_anchors(self, anchors: Anchors) -> None:
        """The chain's anchors the sessions are made from (before the first ``make``): the
        child builds its chain from them before its next session (one worker: in order)."""
        self._anchors, self._chain = anchors, None
        if self._pool is not None:
            try:
                self._pool.submit(_anchors_in_child, anchors)
            except RuntimeError as exc:  # a broken pool: the thread fallback takes over
                log.warning("previous sessions made in a thread from now on: %s", exc)
                self.close()

    def _fallback_chain(self) -> DailyChain:
        assert self._anchors is not None, "use_anchors first"
        if self._chain is None:
            self._chain = DailyChain(self._u, self._seed, self._anchors)
        return self._chain

    async def make(self, day: date, rate: float) -> CandleTable:
        if self._pool is not None:
            try:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._pool, _session_in_child, day, rate)
            except (OSError, RuntimeError) as exc:  # BrokenProcessPool is a RuntimeError
                log.warning("previous sessions made in a thread from now on: %s", exc)
                self.close()
        u, seed, emit = self._u, self._seed, self._emit
        chain = self._fallback_chain()
        return await asyncio.to_thread(session_candles, u, chain, seed, day, rate, emit)

    async def stage(self, day: date, rate: float, into: str, known: frozenset[str] | None) -> int:
        """``make``, the candles written by the child itself as a scratch file at ``into``
        (``stage_session``): the number written."""
        if self._pool is not None:
            try:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(
                    self._pool, _stage_in_child, day, rate, into, known
                )
            except (OSError, RuntimeError) as exc:  # BrokenProcessPool is a RuntimeError
                log.warning("previous sessions made in a thread from now on: %s", exc)
                self.close()
        u, seed, emit = self._u, self._seed, self._emit
        async with self._one_thread:
            chain = self._fallback_chain()
            return await asyncio.to_thread(
                stage_session, u, chain, seed, day, rate, emit, into, known
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
