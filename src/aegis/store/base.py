"""One store interface, two implementations (SQLite embedded, PostgreSQL server mode).

All times are UTC epoch microseconds; prices, volumes and amounts are the exact integers of the
domain models. Writes are batched by the implementation; callers never block the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import NamedTuple, Protocol

from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.ticks import Tick


class RetentionEntry(NamedTuple):
    """One target of one retention pass: rows of ``target`` older than ``cutoff`` were
    removed at ``at`` (UTC µs)."""

    at: int
    target: str  # "ticks" or "candles_<interval>"
    cutoff: int
    deleted: int


class TickRows(Protocol):
    """What a bulk import hands the store: ``len`` rows of one source, read a slice at a time
    (``TickColumns``, or a view that builds each slice's lists only when asked, so a large
    batch never exists as Python objects all at once)."""

    @property
    def source(self) -> str: ...

    def __len__(self) -> int: ...

    def rows(self, lo: int, hi: int) -> TickColumns: ...


class TickColumns(NamedTuple):
    """Ticks of one source as equal-length columns in ``Tick`` field order: what a bulk import
    hands the store, without a Python object per row."""

    symbol: list[str]
    ts: list[int]
    price: list[int]
    volume: list[int]
    side: list[int]
    seq: list[int]
    source: str

    def __len__(self) -> int:  # rows, not fields
        return len(self.ts)

    def lists(self) -> tuple[list[str], list[int], list[int], list[int], list[int], list[int]]:
        """The six per-row columns (all but the source)."""
        return self.symbol, self.ts, self.price, self.volume, self.side, self.seq

    def rows(self, lo: int, hi: int) -> TickColumns:
        s, t, p, v, d, q = (col[lo:hi] for col in self.lists())
        return TickColumns(s, t, p, v, d, q, self.source)  # type: ignore[arg-type]

    def ticks(self) -> list[Tick]:
        rows = zip(
            self.symbol, self.ts, self.price, self.volume, self.side, self.seq,
            repeat(self.source), strict=False,
        )  # fmt: skip
        return list(map(tuple.__new__, repeat(Tick), rows))  # all in C: no call per row


class Store(ABC):
    kind: str = "abstract"

    @abstractmethod
    async def start(self) -> None:
        """Open connections and check the schema is migrated (``aegis db upgrade``)."""

    @abstractmethod
    async def close(self) -> None:
        """Flush pending writes and close."""

    # --- reference data -------------------------------------------------------------------
    @abstractmethod
    async def upsert_instruments(self, items: Sequence[Instrument]) -> None:
        """Insert or update; assigns ``company_id`` to new ones (stable across restarts)."""

    @abstractmethod
    async def list_instruments(self) -> list[Instrument]: ...

    # --- ticks ----------------------------------------------------------------------------
    @abstractmethod
    async def write_ticks(self, ticks: Sequence[Tick]) -> int:
        """Store ticks; a tick whose (symbol, ts, seq) is already stored is ignored.
        Returns how many were new."""

    async def import_ticks(
        self,
        columns: TickRows,
        candles: Sequence[Candle],
        progress: Callable[[int], None] | None = None,
        chunk: int = 50_000,
    ) -> int:
        """Bulk import: store ticks (stored keys ignored, as ``write_ticks``) and replace
        ``candles``; returns how many ticks were new. ``progress`` is told of each chunk of
        ticks written. Stores with a faster path override this."""
        written = 0
        for i in range(0, len(columns), chunk):
            part = columns.rows(i, i + chunk)
            written += await self.write_ticks(part.ticks())
            if progress is not None:
                progress(len(part))
        await self.upsert_candles(candles)
        return written

    async def write_flush(self, ticks: Sequence[Tick], candles: Sequence[Candle]) -> int:
        """One flush of live ingest: new ticks (as ``write_ticks``) and the candles they changed
        (as ``upsert_candles``; a later state of the same candle wins). Returns how many ticks
        were new. Stores override this to write both in one transaction (one commit)."""
        written = await self.write_ticks(ticks) if ticks else 0
        if candles:
            await self.upsert_candles(candles)
        return written

    async def tick_keys(self, symbol: str, start: int, end: int) -> set[tuple[int, int]]:
        """The (ts, seq) of the stored ticks with start ≤ ts < end (dedup of a bulk import)."""
        return {(t.ts, t.seq) for t in await self.get_ticks(symbol, start, end)}

    async def stored_keys(
        self, spans: Mapping[str, tuple[int, int]]
    ) -> dict[str, set[tuple[int, int]]]:
        """``tick_keys`` of each symbol's span (first ts, last ts), both ends included: one
        range read per symbol to tell which of a batch are stored, not a lookup per tick."""
        return {sym: await self.tick_keys(sym, lo, hi + 1) for sym, (lo, hi) in spans.items()}

    @abstractmethod
    async def get_ticks(self, symbol: str, start: int, end: int) -> list[Tick]:
        """Ticks with start ≤ ts < end, in (ts, seq) order."""

    # --- candles --------------------------------------------------------------------------
    @abstractmethod
    async def upsert_candles(self, candles: Iterable[Candle]) -> None:
        """Replace each candle (symbol, interval, start) with the given state."""

    @abstractmethod
    async def get_candles(
        self, symbol: str, interval: str, start: int | None, end: int | None, limit: int
    ) -> list[Candle]:
        """Stored candles with start ≤ candle.start < end, ascending; when more than ``limit``
        match, the latest ``limit`` ones."""

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
        """The same candles as ``get_candles``, already serialized as the API's JSON array of
        ``{time, open, high, low, close, volume, amount}`` (prices divided by 10^scale), or None
        when this store has no such fast path. Lets the database build large responses."""
        return None

    @abstractmethod
    async def get_candle(self, symbol: str, interval: str, start: int) -> Candle | None: ...

    @abstractmethod
    async def latest_candles(
        self, interval: str, symbols: Sequence[str] | None = None, skip: int = 0
    ) -> list[Candle]:
        """The newest candle of each symbol for ``interval`` (restores quotes at start-up), or
        with ``skip`` the one that many places before it (1: the day before the newest)."""

    @abstractmethod
    async def last_real_days(self, symbols: Sequence[str] | None = None) -> dict[str, date]:
        """Per symbol, the KST day of its newest real daily candle (any source but ``sim``):
        where the real history ends and a simulated chain may begin. Symbols without real
        daily history are absent."""

    # --- housekeeping ---------------------------------------------------------------------
    @abstractmethod
    async def apply_retention(
        self,
        now: int,
        tick_days: int | None,
        candle_days: dict[str, int | None],
        keep_sources: Collection[str] = frozenset(),
    ) -> dict[str, int]:
        """Delete what is older than the retention, except rows whose source is in
        ``keep_sources`` (imported and backfilled history); returns rows deleted per
        table/interval and records the pass in the retention log (one transaction)."""

    @abstractmethod
    async def retention_log(self, limit: int = 20) -> list[RetentionEntry]:
        """The newest retention log entries (passes that removed something), newest first."""

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind}
