"""``SimSource``: the default, keyless market-data source (see ``calendar`` for the clock rule)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import date

import numpy as np
import numpy.typing as npt

from aegis.aggregator.batch import CandleTable
from aegis.core.config import Settings
from aegis.core.errors import InvalidRequest
from aegis.core.timeutil import KST, from_us, kst_day, kst_midnight_us, now_us
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.tick_arrays import TickArrays
from aegis.domain.ticks import Tick
from aegis.sources.base import BulkSink, Source, SourceState, TickSink
from aegis.sources.sim import history
from aegis.sources.sim.calendar import close_us, first_session, open_us
from aegis.sources.sim.daily import Anchors, DailyChain, RealAnchor
from aegis.sources.sim.engine import DayEngine
from aegis.sources.sim.phases import phase_at
from aegis.sources.sim.session import emit_mask, normal_day, replay_day
from aegis.sources.sim.universe import Universe

log = logging.getLogger(__name__)

LOOP_SECONDS = 0.05  # wall time between clock reads
MAX_CHUNKS_PER_LOOP = 50  # when behind (high speed), catch up in slices and let others run
IDLE_SECONDS = 1.0
# the morning reaches a bulk sink in batches this large, oldest first: every batch rewrites
# pages of every symbol's ticks and candles, so fewer, larger batches store the day faster. A
# whole session at the default rate (4.6 M ticks) is one batch: stored in ~25 s instead of
# ~33 s in 1 M batches, at ~1.5 GB peak memory instead of ~1 GB (docs/benchmarks.md,
# sim-catchup); the charts fill when it is stored rather than a morning's hour at a time.
BULK_TICKS = 5_000_000


def _parse_symbols(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [s.strip() for s in text.split(",") if s.strip()] or None


def _parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as e:
        raise InvalidRequest(f"AEGIS_SIM_REPLAY={text!r}: expected YYYY-MM-DD") from e


class SimSource(Source):
    name = "sim"
    simulated = True

    def __init__(
        self,
        settings: Settings,
        instruments: Sequence[Instrument],
        *,
        wall_clock: Callable[[], int] = now_us,
    ) -> None:
        super().__init__()
        if settings.sim_speed <= 0 or settings.sim_tick_rate <= 0:
            raise InvalidRequest("AEGIS_SIM_SPEED and AEGIS_SIM_TICK_RATE must be positive")
        self.seed = settings.sim_seed
        self.speed = settings.sim_speed
        self.rate = settings.sim_tick_rate
        self.replay = _parse_day(settings.sim_replay)
        self.universe = Universe.build(instruments, self.seed)
        self.emit = emit_mask(self.universe, _parse_symbols(settings.sim_symbols))
        self.chain = DailyChain(self.universe, self.seed)
        self._clock = wall_clock
        self._resume_us: int | None = None
        self._resume_candles: dict[str, Candle] = {}
        self._instruments = list(instruments)
        self.engine: DayEngine | None = None
        self._anchor_wall = self._anchor_session = 0
        self.caught_up = asyncio.Event()  # the day so far is handed over (and live follows)
        # the store's writer has nothing of today's to do: while the morning is generated, and
        # once it is stored; staged previous sessions are copied in only then
        self._writer_free = asyncio.Event()
        self._history_days: list[date] = []
        self.history_done: list[date] = []  # previous sessions stored at full resolution
        self._history_task: asyncio.Task[None] | None = None
        self.history_filled = asyncio.Event()  # every asked previous session is handed over
        self._maker: history.SessionMaker | None = None
        self._first_made: asyncio.Task[CandleTable | int] | None = None  # the newest, made early
        self._staging: history.Staging | None = None  # a SQLite store's way in
        self.status.subscriptions = int(self.emit.sum()) + len(self.universe.indices)

    def session_day(self) -> date:
        """The day this source plays first, by its own clock (a bench may fix the clock)."""
        if self.replay is not None:
            return self.replay
        return first_session(self._clock(), self.speed)[0]

    def use_anchors(self, last: Mapping[str, RealAnchor]) -> None:
        """Chain from each symbol's last real daily close (day, close in minor units) and
        recent volume level instead of the shipped snapshot's; called before ``run``."""
        self.chain = DailyChain(self.universe, self.seed, Anchors.latest(self.universe, last))

    def start_session_maker(self) -> None:
        """Start the child process that makes previous sessions now (called on the event loop
        by the runtime once it knows some are missing, before the daily history is seeded):
        its start-up overlaps the seeding instead of delaying the first session."""
        if self._maker is None:
            self._maker = history.SessionMaker(self.universe, self.seed, None, self.emit)

    def fill_sessions(self, days: Sequence[date], staging: history.Staging | None = None) -> None:
        """Previous sessions the store lacks at minute resolution: generated whole and handed
        to a bulk sink as candles, newest first (``history``). Called on the event loop (by
        the runtime, after ``use_anchors``), the newest starts being made at once, in a child
        process, while the runtime starts. With ``staging`` (a SQLite store), the child writes
        each as rows to a scratch file that the store copies in (in C, one transaction): this
        process spends almost nothing on them."""
        self._history_days = sorted(days, reverse=True)
        self._staging = staging
        if staging is not None:
            staging.clear()
        if self._maker is not None:
            if not self._history_days:  # started early for nothing
                self._maker.close()
                self._maker = None
            else:  # started early: the chain is known now
                self._maker.use_anchors(self.chain.anchors)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # made once ``run`` starts
        if self._history_days and self._first_made is None:
            self._maker = self._maker or self._new_maker()
            self._first_made = self._make(self._maker, self._history_days[0])
            if staging is not None and self._history_task is None:
                # needs no sink: the next one is made as soon as this one is staged
                self._history_task = asyncio.create_task(
                    self._fill_history(None), name="sim-history"
                )

    def _new_maker(self) -> history.SessionMaker:
        # its own chain: the live one may be advanced to the next day meanwhile
        return history.SessionMaker(self.universe, self.seed, self.chain.anchors, self.emit)

    def _make(self, maker: history.SessionMaker, day: date) -> asyncio.Task[CandleTable | int]:
        rate = min(self.rate, history.RATE)
        st = self._staging
        made: Coroutine[object, object, CandleTable | int] = (
            maker.make(day, rate)
            if st is None
            else maker.stage(day, rate, str(st.path(day)), st.known)
        )
        return asyncio.create_task(made, name=f"sim-history-{day}")

    async def _fill_history(self, sink: BulkSink | None) -> None:
        """Each previous session made in a child process (``history.SessionMaker``), newest
        first, all stored after today's morning (stored beside it, the whole took as long and
        the morning came 3-12 s later on a busy machine: docs/benchmarks.md, sim-catchup,
        sessions 6 and 7). Staged (``fill_sessions``): copied in by SQLite; otherwise handed
        to ``sink`` as candles."""
        days = self._history_days
        if not days:
            self.history_filled.set()
            return
        maker = self._maker = self._maker or self._new_maker()
        first = self._first_made or self._make(maker, days[0])
        staged = self._staging is not None
        # staged: all asked of the child at once (it stages them one after the other, ahead
        # of the copies: a few MB of scratch file each); otherwise one made while the one
        # before is stored (each is ~100 MB of columns in this process)
        pending = [first, *(self._make(maker, d) for d in days[1:])] if staged else [first]
        try:
            for i, day in enumerate(days):
                task = pending.pop(0)
                try:
                    candles: CandleTable | int | None = await task
                except Exception:
                    candles = None
                    log.exception("simulated session %s at full resolution not made", day)
                if not staged and i + 1 < len(days):
                    pending.append(self._make(maker, days[i + 1]))
                if candles is None:
                    continue
                if isinstance(candles, int):  # staged by the child: copied in by SQLite
                    assert self._staging is not None
                    path = self._staging.path(day)
                    try:
                        # today's morning first: copied beside it, on a busy machine the
                        # morning came 10-40 s later and the whole no sooner (session 7);
                        # but while it is generated the writer is idle
                        await self._writer_free.wait()
                        await self._staging.load(path)
                    except Exception:  # the live market goes on; the next start tries again
                        log.exception("simulated session %s at full resolution not stored", day)
                        continue
                    finally:
                        path.unlink(missing_ok=True)
                    self.history_done.append(day)
                    self._update_details()
                    continue
                try:
                    assert sink is not None  # candles handed back: ``into`` was not given
                    await self.caught_up.wait()  # today's morning is stored first
                    await sink.history_candles(candles)
                except Exception:  # the live market goes on; the next start tries again
                    log.exception("simulated session %s at full resolution not stored", day)
                    continue
                self.history_done.append(day)
                self._update_details()
        finally:
            for task in pending:
                task.cancel()
            maker.close()
            self._maker = self._first_made = None
        self.history_filled.set()

    def prev_closes(self) -> dict[str, int]:
        """The current session day's previous close per symbol (minor units): what change and
        change % are measured against. Empty before the first session is prepared."""
        if self.engine is None:
            return {}
        u, e = self.universe, self.engine
        out = {u.symbols[k]: int(e.plan.prev[k]) for k in range(u.n_stocks)}
        for ix in u.indices:
            out[ix.symbol] = e._index_value(ix, e.plan.prev)
        return out

    def _apply_prev_closes(self) -> None:
        """Set ``prev_close`` on the instruments this source was given to the session day's
        previous close, so change and change % are measured against the day being played
        (not the March 2026 snapshot the chain started from)."""
        closes = self.prev_closes()
        for inst in self._instruments:
            if inst.symbol in closes:
                inst.prev_close = closes[inst.symbol]

    def _prepare(self, day: date) -> DayEngine:
        if self.replay is not None:
            return replay_day(self.universe, self.seed, day, self.rate, self.emit)
        return normal_day(self.universe, self.chain, self.seed, day, self.rate, self.emit)

    def resume_from(self, ts_us: int, day_candles: Mapping[str, Candle] | None = None) -> None:
        """Continue after what the store already holds: a restart on the same session day goes
        on from the last stored tick instead of replaying the day from 09:00 (whose ticks would
        all be dropped as duplicates, leaving the market frozen until it caught up). The time it
        was down is caught up at once, as a late start's morning is. ``day_candles``: each
        symbol's newest stored 1d candle, so the day still ends at its chain volume."""
        self._resume_us = ts_us
        self._resume_candles = dict(day_candles or {})

    def _stored_volume(self, day: date) -> npt.NDArray[np.int64]:
        """Each stock's stored volume of ``day`` (by universe row), from the resume candles."""
        out = np.zeros(self.universe.n_stocks, np.int64)
        rows = self.universe.stock_rows()
        start = kst_midnight_us(day)
        for sym, c in self._resume_candles.items():
            k = rows.get(sym)
            if k is not None and c.start == start:
                out[k] = c.volume
        return out

    def _join(self, engine: DayEngine, emit_from: int) -> None:
        r = self._resume_us
        if r is not None and self.replay is None and kst_day(r) == engine.day:
            engine.resume_after(r, self._stored_volume(engine.day))
        else:
            engine.join_at(emit_from)

    def _start(self, wall: int) -> tuple[date, int, int] | None:
        """The next (day, session time now, session time to emit from) to play, or None to
        wait. A day joined late is emitted from its open, as fast as ingest takes it, so its
        charts are full at once; after a restart, from the last stored tick."""
        if self.replay is not None:
            at = open_us(self.replay)
            return None if self.engine is not None else (self.replay, at, at)
        day, start = first_session(wall, self.speed)
        if self.engine is not None and day <= self.engine.day:
            return None
        if self._resume_us is not None and kst_day(self._resume_us) == day:
            resume = min(self._resume_us, close_us(day))
            return day, max(start, resume), resume
        return day, start, open_us(day)

    async def run(self, sink: TickSink) -> None:
        self.set_state(SourceState.CONNECTING)
        anchor_wall = anchor_session = 0
        try:
            while True:
                wall = self._clock()
                if self.engine is None or self.engine.done:
                    nxt = self._start(wall)
                    if nxt is not None:
                        day, start, emit_from = nxt
                        # Building a day's paths takes ~0.1 s of numpy: off the event loop.
                        engine = await asyncio.to_thread(self._prepare, day)
                        self._join(engine, emit_from)
                        self.engine = engine
                        self._apply_prev_closes()
                        self.set_state(SourceState.LIVE)
                        if self._history_task is None and isinstance(sink, BulkSink):
                            self._history_task = asyncio.create_task(
                                self._fill_history(sink), name="sim-history"
                            )
                        await self._catch_up(engine, start, sink)
                        self.caught_up.set()
                        self._writer_free.set()
                        anchor_wall, anchor_session = self._clock(), start
                        self._anchor_wall, self._anchor_session = anchor_wall, anchor_session
                engine_now = self.engine
                if engine_now is None or engine_now.done:
                    self._update_details()
                    await asyncio.sleep(IDLE_SECONDS / max(self.speed, 1.0))
                    continue
                target = anchor_session + int((self._clock() - anchor_wall) * self.speed)
                for batch in engine_now.advance(target, MAX_CHUNKS_PER_LOOP):
                    await sink.ticks(batch)
                    self.status.messages += len(batch)
                    self.status.last_message_us = self._clock()
                self._update_details()
                # Behind the clock (high speed: chunks already due were left for the next
                # slice): only let others run, or the pause per slice would cap the speed the
                # source can reach. Otherwise wait: the current chunk is not over yet.
                behind = engine_now.has_due(target)
                await asyncio.sleep(0 if behind else LOOP_SECONDS)
        except asyncio.CancelledError:
            self.set_state(SourceState.STOPPED)
            raise
        finally:
            if self._history_task is not None and not self._history_task.done():
                self._history_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._history_task

    async def _catch_up(self, engine: DayEngine, until_us: int, sink: TickSink) -> None:
        """The part of the day before ``until_us`` not yet emitted, a minute of session per
        span computed off the event loop. A sink that stores bulk history gets it in large
        batches (stored at once, visible in seconds) while the next is generated; any other
        sink span by span."""
        if not isinstance(sink, BulkSink):
            while (batch := await asyncio.to_thread(engine.catch_up, until_us)) is not None:
                if batch:
                    await self._hand(batch, sink.ticks)
                self._update_details()
            return
        ready: asyncio.Queue[TickArrays | None] = asyncio.Queue(maxsize=1)
        self._writer_free.set()  # until the first batch is handed over

        async def generate() -> None:
            held: list[TickArrays] = []
            size = 0
            while (span := await asyncio.to_thread(engine.catch_up_columns, until_us)) is not None:
                held.append(span)
                size += len(span)
                if size >= BULK_TICKS:
                    await ready.put(await asyncio.to_thread(TickArrays.concat, held))
                    held, size = [], 0
            if size:
                await ready.put(await asyncio.to_thread(TickArrays.concat, held))
            await ready.put(None)

        producer = asyncio.create_task(generate(), name="sim-catch-up")
        try:
            while (cols := await ready.get()) is not None:
                self._writer_free.clear()
                await sink.bulk_columns(cols)
                self.status.messages += len(cols)
                self.status.last_message_us = self._clock()
                self._update_details()
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer

    async def _hand(
        self, batch: list[Tick], to: Callable[[Sequence[Tick]], Awaitable[None]]
    ) -> None:
        await to(batch)
        self.status.messages += len(batch)
        self.status.last_message_us = self._clock()

    def _session_now(self, e: DayEngine) -> int:
        """Session time now: the engine's, and after the close the session clock running on
        (so the off-hours phases show)."""
        if not e.done:
            return e.session_us
        return max(
            e.session_us,
            self._anchor_session + int((self._clock() - self._anchor_wall) * self.speed),
        )

    def _update_details(self) -> None:
        e = self.engine
        if e is None:
            return
        self.status.details = {
            "sessionDay": e.day.isoformat(),
            "sessionTime": from_us(e.session_us).astimezone(KST).isoformat(timespec="seconds"),
            "phase": e.phase(),
            "krxPhase": phase_at(self._session_now(e)),
            "speed": self.speed,
            "replay": self.replay.isoformat() if self.replay else None,
            "symbols": int(np.count_nonzero(self.emit)) + len(self.universe.indices),
            "historySessions": [d.isoformat() for d in self.history_done],
        }
