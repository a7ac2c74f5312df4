"""Prometheus metrics of one process, read from its runtime when scraped: a collector per app
(no module-level metric objects, so two apps in one process never share or double count)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from aegis.api.httpstats import HttpStats
from aegis.api.ratelimit import RateLimits
from aegis.services.runtime import Runtime


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class RuntimeCollector(Collector):
    def __init__(
        self,
        runtime: Callable[[], Runtime | None],
        rate_limits: Callable[[], RateLimits | None] = lambda: None,
        http: HttpStats | None = None,
    ) -> None:
        self._runtime = runtime
        self._rate_limits = rate_limits
        self._http = http

    def collect(self) -> Iterable[Metric]:
        if self._http is not None:
            yield from _http_metrics(self._http)
        rt = self._runtime()
        if rt is None:
            return
        bus = rt.bus.describe()
        yield _gauge(
            "aegis_bus_connected",
            "1 while the bus is connected",
            int(bool(bus.get("connected", True))),
        )
        yield _counter(
            "aegis_bus_reconnects", "Bus reconnections of this process", _num(bus.get("reconnects"))
        )
        yield _counter(
            "aegis_bus_gaps", "Gaps this process saw on the bus stream", _num(bus.get("gaps"))
        )
        if rt.hub is not None:
            hub = rt.hub
            yield _counter(
                "aegis_hub_ticks", "Ticks received by this process's stream hub", hub.ticks_in
            )
            yield _counter(
                "aegis_hub_messages", "Messages queued to streaming clients", hub.messages_out
            )
            yield _gauge(
                "aegis_hub_lag_ms", "Bus publish → hub lag of the last batch (ms)", hub.lag_ms
            )
            yield _counter("aegis_hub_gaps", "Gaps on the bus (ticks lost on the way)", hub.gaps)
            yield _counter("aegis_hub_resyncs", "Live state rebuilt from the store", hub.resyncs)
            yield _counter(
                "aegis_hub_backfilled_ticks",
                "Ticks lost in bus gaps, read back from the store for subscribed clients",
                hub.gapfill.refilled,
            )
            yield _gauge(
                "aegis_hub_backfill_pending",
                "Symbols whose ticks lost in a bus gap are not yet read back for their clients",
                len(hub.gapfill.pending),
            )
            clients = GaugeMetricFamily(
                "aegis_clients", "Connected streaming clients", labels=["kind"]
            )
            for kind, n in hub.client_counts().items():
                clients.add_metric([kind], n)
            yield clients
        if rt.ingest is not None:
            ing = rt.ingest
            yield _counter("aegis_ingest_accepted", "Ticks accepted by ingest", ing.accepted)
            yield _counter("aegis_ingest_duplicates", "Replayed ticks dropped", ing.duplicates)
            yield _gauge("aegis_ingest_pending", "Ticks waiting for the store", ing.pending)
            yield _gauge(
                "aegis_ingest_store_lag_ms", "Age of the oldest tick not yet stored", ing.lag_ms()
            )
            yield _counter(
                "aegis_ingest_publish_failures", "Failed bus publishes", ing.publish_failures
            )
            yield _counter("aegis_ingest_replayed", "Ticks replayed from the journal", ing.replayed)
        if rt.sources:
            up = GaugeMetricFamily(
                "aegis_source_live", "1 when the source is live", labels=["source"]
            )
            rec = CounterMetricFamily(
                "aegis_source_reconnects", "Source reconnects", labels=["source"]
            )
            for s in rt.sources:
                up.add_metric([s.name], 1 if s.status.state.value == "live" else 0)
                rec.add_metric([s.name], s.status.reconnects)
            yield up
            yield rec
        if rt.caches is not None and rt.caches.caches:
            req = CounterMetricFamily(
                "aegis_cache_requests", "Cache lookups by result", labels=["cache", "result"]
            )
            ev = CounterMetricFamily("aegis_cache_evictions", "LRU evictions", labels=["cache"])
            size = GaugeMetricFamily(
                "aegis_cache_entries", "Entries in this process", labels=["cache"]
            )
            for name, c in rt.caches.caches.items():
                req.add_metric([name, "hit"], c.hits)
                req.add_metric([name, "l2_hit"], c.l2_hits)
                req.add_metric([name, "miss"], c.misses)
                req.add_metric([name, "coalesced"], c.coalesced)
                ev.add_metric([name], c.evictions)
                size.add_metric([name], len(c))
            yield req
            yield ev
            yield size
        limits = self._rate_limits()
        if limits is not None:
            yield _counter(
                "aegis_rate_limited", "Requests refused by the rate limits", limits.limited
            )


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _http_metrics(http: HttpStats) -> Iterable[Metric]:
    requests = CounterMetricFamily(
        "aegis_http_requests", "HTTP requests by method and status", labels=["method", "code"]
    )
    for (method, code), n in sorted(http.requests.items()):
        requests.add_metric([method, code], n)
    yield requests
    yield HistogramMetricFamily(
        "aegis_http_request_duration_seconds",
        "Time until the response starts (headers sent)",
        buckets=http.cumulative_buckets(),
        sum_value=http.duration_sum,
    )


def make_registry(
    runtime: Callable[[], Runtime | None],
    rate_limits: Callable[[], RateLimits | None],
    http: HttpStats | None = None,
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RuntimeCollector(runtime, rate_limits, http))
    return registry


async def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> asyncio.Server:
    """``GET /metrics`` for a process without the HTTP app (``aegis ingest``): a minimal
    HTTP/1.0 responder on the event loop, so collecting reads the runtime from its own thread.
    ``GET /healthz`` answers as the API's does (alive), for the container image's health check."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            target = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
            path = target.split(b"?")[0] if request.startswith(b"GET ") else b""
            if path == b"/metrics":
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest(registry)
            elif path == b"/healthz":
                status, ctype, body = "200 OK", "application/json", b'{"status":"ok"}'
            else:
                body = b"only GET /metrics and /healthz here\n"
                status, ctype = "404 Not Found", "text/plain"
            head = f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\n"
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.start_server(answer, host, port)
