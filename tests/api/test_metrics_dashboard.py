"""The Grafana dashboard in deploy/ queries only what /metrics exports: every metric name and
every label it groups or filters by appears in the /metrics output of a running app. HTTP
requests are counted by status with their latency; `aegis ingest` serves its own /metrics."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from aegis.api.metrics import make_registry, serve_metrics
from tests.support.app import running_app
from tests.support.services import free_port

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "aegis-dashboard.json"
METRIC = re.compile(r"\baegis_[a-z0-9_]+")
GROUPED = re.compile(r"\bby \(([^)]*)\)")
FILTERED = re.compile(r"([a-z_]+)=~?\"")


def dashboard_queries() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in doc["templating"]["list"]]
    return exprs


def scraped(text: str) -> dict[str, set[str]]:
    """Sample name → label names seen on it."""
    seen: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            seen.setdefault(sample.name, set()).update(sample.labels)
    return seen


def test_every_metric_and_label_the_dashboard_queries_is_exported(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, _, _):
        client.get("/api/v1/companies", params={"keyword": "삼성"})
        client.get("/api/v1/companies/999999999")  # a 404 among the statuses
        text = client.get("/metrics").text
    exported = scraped(text)
    queries = dashboard_queries()
    assert len(queries) > 20
    for expr in queries:
        names = set(METRIC.findall(expr))
        assert names, expr
        missing = names - set(exported)
        assert not missing, f"{expr}: not on /metrics: {sorted(missing)}"
        # "instance" is added by Prometheus when it scrapes, "le" by histograms
        labels = {
            label.strip()
            for group in GROUPED.findall(expr)
            for label in group.split(",")
            if label.strip() not in ("instance", "")
        } | (set(FILTERED.findall(expr)) - {"instance"})
        have = set().union(*(exported[n] for n in names))
        assert labels <= have, f"{expr}: labels {sorted(labels - have)} not exported"


def test_http_requests_are_counted_by_status_with_their_latency(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, _, _):
        client.get("/healthz")
        client.get("/api/v1/companies/999999999")
        client.get("/api/v1/companies/999999999")
        text = client.get("/metrics").text
    counts = {
        (s.labels["method"], s.labels["code"]): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "aegis_http_requests_total"
    }
    assert counts[("GET", "404")] == 2
    assert counts[("GET", "200")] >= 1
    buckets = {
        s.labels["le"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "aegis_http_request_duration_seconds_bucket"
    }
    assert buckets["+Inf"] == sum(counts.values())  # /metrics itself has not answered yet


def test_the_ingester_serves_its_metrics_and_liveness_without_the_http_app(tmp_path: Path) -> None:
    async def scrape(
        registry: CollectorRegistry,
    ) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        port = free_port()
        server = await serve_metrics(registry, "127.0.0.1", port)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                return await http.get("/metrics"), await http.get("/healthz"), await http.get("/x")
        finally:
            server.close()
            await server.wait_closed()

    with running_app(tmp_path) as (_, rt, _):
        metrics, health, other = asyncio.run(scrape(make_registry(lambda: rt, lambda: None)))
    assert metrics.status_code == 200
    exported = scraped(metrics.text)
    assert {"aegis_ingest_accepted_total", "aegis_ingest_store_lag_ms"} <= set(exported)
    assert other.status_code == 404
    assert health.status_code == 200  # the image's health check, as on the API
    assert health.json() == {"status": "ok"}
