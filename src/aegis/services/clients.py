"""One streaming client's outbound queue: bounded, conflating, never blocking the broadcaster.

The broadcaster calls ``offer`` (synchronous, O(1)); the connection's writer awaits ``drain``.
When the queue is full, further messages are conflated to the latest per key (e.g. per symbol).
A client that stays full for ``drop_after`` seconds is marked slow and its connection closed.

Control replies (errors, pongs, acknowledgements) have their own small queue: a keyed reply
replaces the one still waiting with the same key (one pending pong, one pending "too many
messages"), and beyond ``control_max`` further replies are dropped and counted. A client that
sends without reading can therefore never make the server hold more than a fixed amount.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import orjson


class ClientChannel:
    def __init__(
        self, maxsize: int = 1000, drop_after: float = 10.0, control_max: int = 64
    ) -> None:
        self.maxsize = maxsize
        self.drop_after = drop_after
        self.control_max = control_max
        self._control: deque[tuple[str | None, bytes]] = deque()
        self.control_dropped = 0
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

    def control(self, payload: bytes, key: str | None = None) -> bool:
        """Replies and errors, sent before data. Returns False when the reply was dropped."""
        if self.closed:
            return False
        if key is not None:
            for i, (k, _) in enumerate(self._control):
                if k == key:
                    self._control[i] = (key, payload)
                    return True
        if len(self._control) >= self.control_max:
            self.control_dropped += 1
            return False
        self._control.append((key, payload))
        self._wake.set()
        return True

    async def drain(self) -> list[bytes]:
        """Wait for messages and take them all (queued first, then conflated latest values)."""
        while not self._queue and not self._conflated and not self._control:
            if self.closed:
                return []
            self._wake.clear()
            await self._wake.wait()
        out = [payload for _, payload in self._control]
        self._control.clear()
        out.extend(self._queue)
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
        return len(self._control) + len(self._queue) + len(self._conflated)
