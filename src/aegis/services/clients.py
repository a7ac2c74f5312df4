"""One streaming client's outbound queue: bounded, conflating, never blocking the broadcaster.

The broadcaster calls ``offer`` (synchronous, O(1)); the connection's writer awaits ``drain``.
When the queue is full, further messages are conflated to the latest per key (e.g. per symbol).
A client that stays full for ``drop_after`` seconds is marked slow and its connection closed.

Control replies (errors, pongs, acknowledgements) have their own small queue: a keyed reply
replaces the one still waiting with the same key (one pending pong, one pending "too many
messages"), and beyond ``control_max`` further replies are dropped and counted. A client that
sends without reading can therefore never make the server hold more than a fixed amount.

A connection that can write a frame synchronously sets ``direct``: then the broadcaster flushes
the channel itself once per batch (``flush_direct``: the messages the batch queued, one frame,
one write), and the connection's writer task is woken only for what that cannot take (control
replies, a peer that is not reading, conflated messages, a flush sooner than ``window``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from aegis.core.lean import LeanEvent


class ClientChannel:
    def __init__(
        self, maxsize: int = 1000, drop_after: float = 10.0, control_max: int = 64
    ) -> None:
        self.maxsize = maxsize
        self.drop_after = drop_after
        self.control_max = control_max
        # lists and a lean event, not deques and asyncio.Event: one of these per connection, and
        # each deque costs a 760-byte block from its creation (see aegis.core.lean)
        self._control: list[tuple[str | None, bytes]] = []
        self.control_dropped = 0
        self._queue: list[bytes] = []
        self._conflated: dict[str, bytes] = {}
        self._wake = LeanEvent()
        self._full_since: float | None = None
        self.conflated_total = 0
        self._conflated_unreported = 0
        self.sent = 0
        self.slow = False
        self.closed = False
        # direct flushing (see the module's doc): writes one frame now, False when it cannot
        self.direct: Callable[[bytes], bool] | None = None
        self.dirty: list[ClientChannel] | None = None  # where to register for the next flush
        self.window = 0.0
        self.busy = False  # the writer task holds messages not yet written: they go first
        self._flushed_at = 0.0

    def offer(self, key: str, payload: bytes) -> None:
        if self.closed:
            return
        if self._full_since is None and len(self._queue) < self.maxsize:
            if self.direct is not None and self.dirty is not None:
                if not self._queue:
                    self.dirty.append(self)
                self._queue.append(payload)
                return  # the broadcaster flushes it at the end of the batch
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

    def flush_direct(self, now: float) -> float | None:
        """Write what the batch queued as one frame (a JSON array when more than one), or leave
        it to the writer task. Returns the seconds after which the broadcaster is to call again
        when the last frame went out too recently (a burst of batches: the frame waits, and
        takes what the next batches add, without waking the writer task), else None."""
        queue = self._queue
        if not queue or self.closed:
            return None
        if self.direct is None or self.busy or self._control or self._conflated:
            self._wake.set()
            return None
        # batches come about every window: a burst of them is gathered into one frame, not
        # the jitter of a steady flow
        wait = self.window / 2 - (now - self._flushed_at)
        if wait > 0:
            return wait
        payload = queue[0] if len(queue) == 1 else b"[" + b",".join(queue) + b"]"
        if self.direct(payload):
            self.sent += len(queue)
            queue.clear()
            self._flushed_at = now
        else:
            self._wake.set()
        return None

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
        self._flushed_at = time.monotonic()
        return out

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._control) + len(self._queue) + len(self._conflated)
