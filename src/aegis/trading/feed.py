"""Per-user event fan-out (orders, fills, safety triggers, reconciliation, alerts) for
``/ws/events``, notifications and tests. Bounded queues: a slow reader loses the oldest."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 1_000


@dataclass(eq=False)
class Listener:
    user_id: int | None  # None: every user's events (administrators, notifiers)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0


class EventFeed:
    def __init__(self) -> None:
        self.listeners: set[Listener] = set()

    def listen(self, user_id: int | None) -> Listener:
        li = Listener(user_id)
        self.listeners.add(li)
        return li

    def close(self, li: Listener) -> None:
        self.listeners.discard(li)

    def publish(self, user_id: int, message: dict[str, Any]) -> None:
        for li in self.listeners:
            if li.user_id is not None and li.user_id != user_id:
                continue
            q = li.queue
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
                li.dropped += 1
            q.put_nowait({**message, "userId": user_id})
