"""HTTP request counts by method and status, and the time until each response starts, kept per
app (read by the metrics collector; no module-level metric objects).

The duration is measured until the response headers are sent: for an ordinary JSON response
that is its latency; for an SSE stream (open for hours) it is the time to set the stream up,
which keeps the histogram meaningful. WebSocket connections are not HTTP requests here.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# seconds; the last bucket (+Inf) is implied
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpStats:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()  # (method, status) → count
        self.bucket_counts = [0] * (len(BUCKETS) + 1)  # per bucket, not cumulative
        self.duration_sum = 0.0
        self.count = 0

    def observe(self, method: str, status: int, seconds: float) -> None:
        self.requests[(method, str(status))] += 1
        self.bucket_counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.duration_sum += seconds
        self.count += 1

    def cumulative_buckets(self) -> list[tuple[str, float]]:
        """In Prometheus form: (upper bound, requests at or below it)."""
        out: list[tuple[str, float]] = []
        total = 0
        for bound, n in zip([*map(str, BUCKETS), "+Inf"], self.bucket_counts, strict=True):
            total += n
            out.append((bound, total))
        return out


class HttpStatsMiddleware:
    def __init__(self, app: ASGIApp, stats: HttpStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = str(scope.get("method", "GET"))
        seen = False

        async def timed_send(message: Message) -> None:
            nonlocal seen
            if message["type"] == "http.response.start" and not seen:
                seen = True
                self.stats.observe(method, message["status"], time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            if not seen:  # no response was started: the server answers 500
                self.stats.observe(method, 500, time.perf_counter() - started)
            raise
