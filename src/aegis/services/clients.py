"""One streaming client's outbound queue: bounded, conflating, never blocking the broadcaster.

The broadcaster calls ``offer`` (synchronous, O(1)); the connection's writer awaits ``drain``.
When the queue is full, further messages are conflated to the latest per key (e.g. per symbol).
A client that stays full for ``drop_after`` seconds is marked slow and its connection closed.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import orjson


class ClientChannel:
    def __init__(self, maxsize: int = 1000, drop_after: float = 10.0) -> None:
        self.maxsize = maxsize
        self.drop_after = drop_after
        self._queue: deque[bytes] = deque()
        self._conflated: dict[str, bytes] = {}
        self._wake = asyncio.Event()
        self._full_since: float | None = None
        self.conflated_total = 0
        self._conflated_unreported = 0
        self.sent = 0
        self.slow = False
        self.closed = False

    def offer(self, key: str, payload: bytes) -> None:
        if self.closed:
            return
        if self._full_since is None and len(self._queue) < self.maxsize:
            self._queue.append(payload)
        else:
            now = time.monotonic()
            if self._full_since is None:
                self._full_since = now
            elif now - self._full_since > self.drop_after:
                self.slow = True
            if key in self._conflated:  # an older message is skipped: count it
                self.conflated_total += 1
                self._conflated_unreported += 1
            self._conflated[key] = payload
        self._wake.set()

    def control(self, payload: bytes) -> None:
        """Replies and errors: always queued (they are few and must not be conflated away)."""
        if self.closed:
            return
        self._queue.append(payload)
        self._wake.set()

    async def drain(self) -> list[bytes]:
        """Wait for messages and take them all (queued first, then conflated latest values)."""
        while not self._queue and not self._conflated:
            if self.closed:
                return []
            self._wake.clear()
            await self._wake.wait()
        out = list(self._queue)
        self._queue.clear()
        if self._conflated:
            if self._conflated_unreported:
                out.append(orjson.dumps({"type": "conflated", "count": self._conflated_unreported}))
                self._conflated_unreported = 0
            out.extend(self._conflated.values())
            self._conflated.clear()
        self._full_since = None
        self.sent += len(out)
        return out

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._queue) + len(self._conflated)
