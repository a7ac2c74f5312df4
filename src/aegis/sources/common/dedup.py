"""Drop ticks already delivered: identity is (symbol, seq) where seq is a per-symbol id that a
replayed trade repeats (KIS cumulative volume, Binance trade id)."""

from __future__ import annotations

from collections import deque
from datetime import date


class _Window:
    __slots__ = ("floor", "max", "order", "seen")

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.order: deque[int] = deque()
        self.floor = -1  # every seq ≤ floor counts as seen (evicted from the window)
        self.max = -1


class Deduper:
    """Remembers the last ``window`` seqs per symbol; older ones are summarized by a floor, so
    memory stays bounded and anything older than the window is treated as a duplicate."""

    def __init__(self, window: int = 200_000) -> None:
        self.window = window
        self._by_symbol: dict[str, _Window] = {}
        self._day: date | None = None  # of the newest trade, for ``roll_day``
        self.dropped = 0

    def is_new(self, symbol: str, seq: int) -> bool:
        """True the first time (symbol, seq) is offered; records it."""
        w = self._by_symbol.get(symbol)
        if w is None:
            w = self._by_symbol[symbol] = _Window()
        if seq <= w.floor or seq in w.seen:
            self.dropped += 1
            return False
        w.seen.add(seq)
        if seq > w.max:
            w.max = seq
        w.order.append(seq)
        if len(w.order) > self.window:
            old = w.order.popleft()
            w.seen.discard(old)
            if old > w.floor:
                w.floor = old
        return True

    def forget(self) -> None:
        """Forget every seq (the drop count stays): for seqs that restart, such as a new
        trading day's cumulative volume."""
        self._by_symbol.clear()

    def roll_day(self, day: date) -> bool:
        """For seqs that restart every trading day (KIS ACML_VOL, Kiwoom FID 13): True, with
        every seq forgotten, on the first trade of a later day than the last one seen; else
        the new day's trades would pass for the previous day's duplicates."""
        new = self._day is not None and day > self._day
        if new:
            self.forget()
        if self._day is None or day > self._day:
            self._day = day
        return new

    def last(self, symbol: str) -> int | None:
        """Highest seq seen for a symbol (None if none)."""
        w = self._by_symbol.get(symbol)
        return None if w is None or w.max < 0 else w.max
