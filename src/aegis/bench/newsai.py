"""``aegis bench newsai``: the news, AI outlook and indicator calls of company pages on a freshly
started server — cold (each company's first request: analysis computed, news queried) and warm
(the same again: the analysis comes from the daily cache) — plus news search and keywords. The
baseline in the same run is ``/healthz``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

QUERIES = ["반도체", "삼성전자", "2차전지", "금리", "HBM", "수주", "배당", "실적 개선"]
CALLS = {
    "news": "/news?limit=20",
    "analysis": "/analysis",
    "indicators": (
        "/indicators?interval=1d&limit=250&names=sma_20,ema_20,rsi_14,macd_12_26_9,bbands_20_2"
    ),
}


@dataclass
class NewsAiResult:
    companies: int
    seed_ms: float  # the first news request: the archive is seeded into the database
    cold_p50_ms: dict[str, float] = field(default_factory=dict)
    cold_max_ms: dict[str, float] = field(default_factory=dict)
    warm_p50_ms: dict[str, float] = field(default_factory=dict)
    search_p50_ms: float = 0.0
    keywords_p50_ms: float = 0.0
    baseline_p50_ms: float = 0.0


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(p * len(xs)))], 2)


def measure(c: httpx.Client, rounds: int, companies: int) -> NewsAiResult:
    def timed(url: str) -> float:
        t0 = time.perf_counter()
        r = c.get(url)
        dt = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, (url, r.status_code, r.text[:200])
        return dt

    seed = timed("/api/v1/news?limit=1")
    top = c.get("/api/v1/companies", params={"keyword": "전자", "limit": companies}).json()["data"]
    ids = [int(r["companyId"]) for r in top if r["kind"] == "stock"][:companies]
    res = NewsAiResult(len(ids), round(seed, 1))
    for phase in ("cold", "warm"):
        for name, tail in CALLS.items():
            xs = [timed(f"/api/v1/companies/{cid}{tail}") for cid in ids]
            if phase == "cold":
                res.cold_p50_ms[name] = _pct(xs, 0.5)
                res.cold_max_ms[name] = round(max(xs), 2)
            else:
                res.warm_p50_ms[name] = _pct(xs, 0.5)
    res.search_p50_ms = _pct(
        [timed(f"/api/v1/news?q={q}&limit=20") for _ in range(rounds) for q in QUERIES], 0.5
    )
    res.keywords_p50_ms = _pct(
        [timed("/api/v1/news/keywords?window=7d&limit=50") for _ in range(rounds)], 0.5
    )
    res.baseline_p50_ms = _pct([timed("/healthz") for _ in range(rounds * len(QUERIES))], 0.5)
    return res


def run(rounds: int, companies: int) -> NewsAiResult:
    import tempfile

    from aegis.bench.server import serving

    # no feed polling during the run: it would compete with the measured requests
    env = {
        "AEGIS_SOURCE": "sim",
        "AEGIS_SIM_SYMBOLS": "005930,000660",
        "AEGIS_NEWS_POLL_SECONDS": "0",
    }
    with (
        tempfile.TemporaryDirectory() as d,
        serving(d, env) as base,
        httpx.Client(base_url=base, timeout=60) as c,
    ):
        return measure(c, rounds, companies)
