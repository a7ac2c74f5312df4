"""Refilling clients after a gap on the bus: which stored ticks each subscribed client missed.

When the bus says payloads were lost (:data:`aegis.bus.base.GAP`), the hub opens a fill for every
symbol that has tick subscribers: the newest tick it delivered of that symbol before the gap
(``lo``), the clients subscribed then, and every tick delivered around and after the gap (never
sent twice). Ticks of the symbol keep arriving; the newest of them bounds the fill (``hi``, fixed
at the first attempt). Once the store holds ``hi`` (the ingester writes in order, so everything
published before it is stored too), the stored ticks in ``(lo, hi]`` that were not delivered are
exactly the lost ones. A symbol without a tick after the gap waits; after ``give_up_s`` it is
filled with what the store has."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from aegis.core.timeutil import now_us
from aegis.domain.ticks import Tick

if TYPE_CHECKING:
    from aegis.services.stream import Subscriber

Key = tuple[int, int]  # (ts, seq): a tick's order within its symbol


class TickReader(Protocol):
    async def get_ticks(self, symbol: str, start: int, end: int) -> list[Tick]: ...


@dataclass(eq=False)
class _Pending:
    lo: Key
    subs: set[Subscriber]
    seen: set[Key] = field(default_factory=set)
    hi: Key | None = None
    fixed: bool = False  # hi no longer moves: the store is waited for up to it


@dataclass
class Refill:
    symbol: str
    subs: set[Subscriber]
    ticks: list[Tick]


class GapFill:
    def __init__(self, give_up_s: float = 30.0) -> None:
        self.give_up_s = give_up_s
        self.started_us = now_us()  # the hub delivered nothing older than this
        self.pending: dict[str, _Pending] = {}
        self.opened_at = 0.0
        self.refilled = 0  # ticks read back from the store, in all
        self.incomplete = 0  # symbols filled only with what the store had when giving up

    def open(
        self,
        subscribers: Mapping[str, set[Subscriber]],
        last: Mapping[str, Tick],
        recent: Iterable[Sequence[Tick]],
    ) -> None:
        """A gap: remember, per subscribed symbol, where delivery stood."""
        if not self.pending:
            self.opened_at = time.monotonic()
        opened: set[str] = set()
        for symbol, subs in subscribers.items():
            if not subs:
                continue
            p = self.pending.get(symbol)
            if p is None:
                t = last.get(symbol)
                lo = (t.ts, t.seq) if t is not None else (self.started_us, -1)
                self.pending[symbol] = _Pending(lo, set(subs))
                opened.add(symbol)
            else:  # a further gap before the first was filled: its end moves on
                p.subs.update(subs)
                p.fixed = False
        if opened:
            # what was delivered just before the gap (a late tick may sort below lo)
            for batch in recent:
                for t in batch:
                    if t.symbol in opened:
                        self.pending[t.symbol].seen.add((t.ts, t.seq))

    def note(self, ticks: Sequence[Tick]) -> None:
        """Ticks delivered while fills are open."""
        pending = self.pending
        for t in ticks:
            p = pending.get(t.symbol)
            if p is None:
                continue
            key = (t.ts, t.seq)
            p.seen.add(key)
            if not p.fixed and (p.hi is None or key > p.hi):
                p.hi = key

    async def fill(self, store: TickReader) -> list[Refill]:
        """Read back what can be read now; symbols not yet complete in the store stay open."""
        give_up = time.monotonic() - self.opened_at > self.give_up_s
        out: list[Refill] = []
        for symbol, p in list(self.pending.items()):
            if p.hi is None and not give_up:
                continue  # no tick after the gap yet: the lost ones may still be on their way
            p.fixed = True
            end = p.hi[0] + 1 if p.hi is not None else now_us() + 1
            rows = await store.get_ticks(symbol, p.lo[0], end)
            if self.pending.get(symbol) is not p or not p.fixed:
                continue  # another gap meanwhile: its end is not known yet
            complete = p.hi is not None and any((t.ts, t.seq) == p.hi for t in reversed(rows))
            if not complete:
                if not give_up:
                    continue  # the store has not reached the gap's end yet
                self.incomplete += 1
            hi = p.hi or (end, 0)
            lo, seen = p.lo, p.seen
            missed = [t for t in rows if lo < (t.ts, t.seq) <= hi and (t.ts, t.seq) not in seen]
            del self.pending[symbol]
            self.refilled += len(missed)
            if missed:
                out.append(Refill(symbol, p.subs, missed))
        return out
