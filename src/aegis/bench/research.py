"""``aegis bench research``: company search over the whole listing and a company page's API
calls on a freshly started server (cold: each company's first requests), over loopback. The
baseline in the same run is ``/healthz``, the HTTP round trip with no work behind it."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field

import httpx

from aegis.bench.server import serving

KEYWORDS = [
    "삼성",
    "ㅅㅅㅈㅈ",
    "005930",
    "SK",
    "하이닉스",
    "NAVER",
    "카카오",
    "현대",
    "LG",
    "셀트리온",
    "ㅎㄷ",
    "에코프로",
    "0001A0",
    "바이오",
    "전자",
    "금융",
    "KB",
    "한화",
    "포스코",
    "두산",
]
PAGE = [
    "",
    "/financials",
    "/financials?period=quarterly",
    "/reports",
    "/valuation",
    "/ohlcv?interval=1d&limit=250",
]


@dataclass
class ResearchResult:
    search_requests: int
    search_p50_ms: float
    search_p99_ms: float
    baseline_p50_ms: float
    companies: int
    page_p50_ms: float  # one company page: all its calls, one after another
    page_max_ms: float
    call_max_ms: dict[str, float] = field(default_factory=dict)


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def measure(c: httpx.Client, rounds: int, companies: int) -> ResearchResult:
    def timed(url: str) -> float:
        t0 = time.perf_counter()
        r = c.get(url)
        dt = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, (url, r.status_code)
        return dt

    top = c.get("/api/v1/rankings/companies", params={"limit": companies}).json()["data"]
    ids = [int(r["companyId"]) for r in top]
    # cold first: each company page once, before search warms anything
    pages: list[float] = []
    per_call: dict[str, float] = {}
    for cid in ids:
        total = 0.0
        for tail in PAGE:
            dt = timed(f"/api/v1/companies/{cid}{tail}")
            key = tail.split("?")[0] + ("?quarterly" if "quarterly" in tail else "") or "/"
            per_call[key] = max(per_call.get(key, 0.0), dt)
            total += dt
        pages.append(total)
    search = [timed(f"/api/v1/companies?keyword={k}") for _ in range(rounds) for k in KEYWORDS]
    base = [timed("/healthz") for _ in range(rounds * len(KEYWORDS))]
    return ResearchResult(
        len(search),
        _pct(search, 0.5),
        _pct(search, 0.99),
        _pct(base, 0.5),
        len(ids),
        _pct(pages, 0.5),
        max(pages),
        {k: round(v, 1) for k, v in per_call.items()},
    )


def run(rounds: int, companies: int) -> ResearchResult:
    with tempfile.TemporaryDirectory() as d:
        env = {"AEGIS_SOURCE": "sim", "AEGIS_SIM_SYMBOLS": "005930,000660"}
        with serving(d, env) as base, httpx.Client(base_url=base, timeout=30) as c:
            return measure(c, rounds, companies)
