"""What every market-data source implements: connect, subscribe, normalize, hand ticks to a sink.

Sources know nothing of the store, the bus or HTTP. The ingest service gives them a sink.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from aegis.core.timeutil import kst_day
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.tick_arrays import TickArrays
from aegis.domain.ticks import Tick


class SourceState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    BACKING_OFF = "backing_off"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(slots=True)
class BookLevel:
    price: int
    qty: int


@dataclass(slots=True)
class OrderBook:
    symbol: str
    ts: int
    asks: list[BookLevel]
    bids: list[BookLevel]
    source: str


class TickSink(Protocol):
    """Where a source delivers normalized data. Batches are preferred: one call per frame."""

    async def ticks(self, batch: Sequence[Tick]) -> None: ...

    async def book(self, book: OrderBook) -> None: ...


@runtime_checkable
class BulkSink(Protocol):
    """A sink that also takes generated history in large batches (the simulator's morning,
    its previous sessions), stored at once rather than through the live path."""

    async def bulk(self, batch: Sequence[Tick]) -> None:
        """Distinct ticks of one source, stored with their candles."""

    async def bulk_columns(self, batch: TickArrays) -> None:
        """``bulk`` of ticks given as columns (no Python object per tick)."""

    async def history_candles(self, candles: Sequence[Candle]) -> None:
        """Finished candles of past sessions whose ticks are not kept, stored as they are."""


@dataclass(slots=True)
class SourceStatus:
    name: str
    state: SourceState = SourceState.STOPPED
    simulated: bool = False
    subscriptions: int = 0
    last_message_us: int | None = None
    reconnects: int = 0
    messages: int = 0
    error: str | None = None  # last fault, human-readable, never containing secrets
    details: dict[str, object] = field(default_factory=dict)
    since: float = field(default_factory=time.time)


class Source(ABC):
    """A market-data source. ``run`` returns only when cancelled or permanently failed."""

    name: str = "abstract"
    simulated: bool = False

    def __init__(self) -> None:
        self.status = SourceStatus(name=self.name, simulated=self.simulated)
        self.counts: dict[str, int] = {}

    def init_counts(self, *keys: str) -> None:
        """Counters (ticks, duplicates, gaps, …) shown in ``status.details``."""
        self.counts = dict.fromkeys(keys, 0)
        self.status.details.update(self.counts)

    def count(self, key: str, n: int = 1) -> int:
        self.counts[key] = self.counts.get(key, 0) + n
        self.status.details[key] = self.counts[key]
        return self.counts[key]

    def set_state(self, state: SourceState, error: str | None = None) -> None:
        self.status.state = state
        self.status.since = time.time()
        if error is not None:
            self.status.error = error

    def instruments(self) -> list[Instrument]:
        """Instruments this source adds beyond the KRX reference listing (e.g. crypto pairs)."""
        return []

    async def watch(self, symbols: Sequence[str]) -> None:  # noqa: B027
        """Symbols clients are watching now, most wanted first; sources with a subscription
        budget (KIS: 40 per connection) serve these first. Default: ignore."""

    def resume_after(  # noqa: B027
        self, recent: Mapping[str, Sequence[Tick]], now: int | None = None
    ) -> None:
        """The recently stored ticks per symbol ((ts, seq) order) when ingest starts (a restart,
        or a standby taking over from a dead leader): a source that can fill gaps treats the
        time since as a reconnect and fills it from the broker's REST history. Default: ignore."""

    @abstractmethod
    async def run(self, sink: TickSink) -> None: ...


# A stored tick older than this is not resumed from: the broker's REST history would have to
# page through everything since (a short restart or a failover is seconds to minutes).
RESUME_WINDOW_US = 30 * 60 * 1_000_000


def after_cumulative(prev: Tick, t: Tick) -> bool:
    """KRX feeds: seq is the day's cumulative volume, so a trade follows the one before it
    exactly when its seq minus its own volume is that trade's seq."""
    return t.seq - t.volume == prev.seq


def after_trade_id(prev: Tick, t: Tick) -> bool:
    """Exchanges numbering every trade (Binance): ids follow one another."""
    return t.seq == prev.seq + 1


def resumable(
    recent: Mapping[str, Sequence[Tick]],
    now: int,
    follows: Callable[[Tick, Tick], bool],
    *,
    same_kst_day: bool,
) -> dict[str, int]:
    """Per symbol, the seq to fill from: the stored trade before the first hole in its recent
    run (a process killed while filling a gap may have stored live trades above the hole), or
    the newest one. Only recent trades count, and for counters that restart each trading day
    (KRX cumulative volume) only today's."""
    out: dict[str, int] = {}
    for sym, ticks in recent.items():
        prev: Tick | None = None
        for t in ticks:  # (ts, seq) order
            if t.seq <= 0 or not 0 <= now - t.ts <= RESUME_WINDOW_US:
                continue
            if same_kst_day and kst_day(t.ts) != kst_day(now):
                continue
            if prev is not None and not follows(prev, t):
                break
            prev = t
        if prev is not None:
            out[sym] = prev.seq
    return out
