"""An async token bucket for broker REST limits.

The brokers count requests in one-second windows at their side. A bucket whose capacity equals
the rate can emit twice the rate inside one window (a full burst, then a refill), so the
default capacity is 1: requests are spaced ``1/rate`` apart, and ``safety`` stretches that
spacing a little so that network jitter cannot squeeze N+1 requests into a window.

One bucket can serve several clients of one budget (KIS: market data and trading on the same
app key); ``urgent`` callers (orders) go before the others waiting, so a burst of market-data
calls cannot hold an order past its timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        safety: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate / (1.0 + safety)
        self.capacity = capacity
        self._tokens = capacity
        self._clock = clock
        self._last = clock()
        self._lock = asyncio.Lock()
        self._urgent = 0  # urgent callers waiting
        self._no_urgent = asyncio.Event()
        self._no_urgent.set()
        self.acquired = 0
        self.waited_s = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self, *, urgent: bool = False) -> None:
        """Wait for one token. Callers queue in FIFO order behind the lock, urgent ones
        before the others: an ordinary caller that gets the lock while an urgent one waits
        lets it go and queues again once no urgent caller is waiting."""
        if urgent:
            self._urgent += 1
            self._no_urgent.clear()
        try:
            while True:
                async with self._lock:
                    if urgent or not self._urgent:
                        await self._take()
                        return
                await self._no_urgent.wait()
        finally:
            if urgent:
                self._urgent -= 1
                if not self._urgent:
                    self._no_urgent.set()

    async def _take(self) -> None:
        self._refill()
        if self._tokens < 1.0:
            wait = (1.0 - self._tokens) / self.rate
            self.waited_s += wait
            await asyncio.sleep(wait)
            self._refill()
        # a sleep may end a hair early; never let the balance go below -epsilon
        self._tokens = max(self._tokens, 1.0) - 1.0
        self.acquired += 1
