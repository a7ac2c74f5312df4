"""A sliding count of events per second over the last few seconds, bounded in memory: old
entries are dropped when new ones arrive, not only when someone reads the rate."""

from __future__ import annotations

import time
from collections import deque


class RateWindow:
    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self._events: deque[tuple[float, int]] = deque()
        self._total = 0

    def add(self, n: int, now: float | None = None) -> None:
        t = time.monotonic() if now is None else now
        self._events.append((t, n))
        self._total += n
        self._trim(t)

    def _trim(self, now: float) -> None:
        events = self._events
        while events and now - events[0][0] > self.seconds:
            self._total -= events.popleft()[1]

    def per_second(self, now: float | None = None) -> float:
        self._trim(time.monotonic() if now is None else now)
        return self._total / self.seconds

    def __len__(self) -> int:
        """Entries held (bounded by the batches of the last ``seconds``)."""
        return len(self._events)
