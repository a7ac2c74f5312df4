"""Prometheus metrics, read from the runtime's counters when scraped."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from aegis.services.runtime import Runtime

REGISTRY = CollectorRegistry()
TICKS_IN = Gauge(
    "aegis_hub_ticks_total", "Ticks received by this process's stream hub", registry=REGISTRY
)
MESSAGES_OUT = Gauge(
    "aegis_hub_messages_total", "Messages queued to streaming clients", registry=REGISTRY
)
CLIENTS = Gauge("aegis_clients", "Connected streaming clients", ["kind"], registry=REGISTRY)
LAG = Gauge("aegis_hub_lag_ms", "Bus publish → hub lag of the last batch (ms)", registry=REGISTRY)
INGESTED = Gauge("aegis_ingest_accepted_total", "Ticks accepted by ingest", registry=REGISTRY)
DUPLICATES = Gauge("aegis_ingest_duplicates_total", "Replayed ticks dropped", registry=REGISTRY)
PENDING = Gauge("aegis_ingest_pending", "Ticks waiting for the store", registry=REGISTRY)
SOURCE_UP = Gauge("aegis_source_live", "1 when the source is live", ["source"], registry=REGISTRY)
RECONNECTS = Gauge(
    "aegis_source_reconnects_total", "Source reconnects", ["source"], registry=REGISTRY
)
RESEARCH_CACHE = Gauge(
    "aegis_research_cache_total", "Research query cache lookups", ["result"], registry=REGISTRY
)


def update_metrics(rt: Runtime) -> None:
    if rt.hub is not None:
        TICKS_IN.set(rt.hub.ticks_in)
        MESSAGES_OUT.set(rt.hub.messages_out)
        LAG.set(rt.hub.lag_ms)
        for kind, n in rt.hub.client_counts().items():
            CLIENTS.labels(kind).set(n)
    if rt.ingest is not None:
        INGESTED.set(rt.ingest.accepted)
        DUPLICATES.set(rt.ingest.duplicates)
        PENDING.set(rt.ingest.pending)
    for s in rt.sources:
        SOURCE_UP.labels(s.name).set(1 if s.status.state.value == "live" else 0)
        RECONNECTS.labels(s.name).set(s.status.reconnects)
    if rt.research is not None:
        RESEARCH_CACHE.labels("hit").set(rt.research.cache.hits)
        RESEARCH_CACHE.labels("miss").set(rt.research.cache.misses)
