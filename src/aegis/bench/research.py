"""``aegis bench research``: company search over the whole listing and a company page's API
calls on a freshly started server (cold: each company's first requests), over loopback. The
baseline in the same run is ``/healthz``, the HTTP round trip with no work behind it."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from aegis.bench.server import serving
from aegis.domain.instruments import Instrument
from aegis.reference.hangul import chosung
from aegis.reference.instruments import load_instruments
from aegis.services.market import Market

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


_JAMO_ONLY = re.compile(r"^[ㄱ-ㅎ]+$")


class LinearScan:
    """The former ``Market.search``: keys precomputed per listing, then every instrument
    scored in Python and the matches sorted, per query. The in-process baseline of the prebuilt
    index, and the reference its ranking must equal (tests/services/test_search_index.py)."""

    def __init__(self, insts: Sequence[Instrument]) -> None:
        self.keys = [
            (
                i,
                i.symbol.lower(),
                i.name.lower().replace(" ", ""),
                (i.name_en or "").lower().replace(" ", ""),
                chosung(i.name.replace(" ", "")),
            )
            for i in insts
        ]

    def search(self, keyword: str, limit: int) -> list[str]:
        q = keyword.strip().lower().replace(" ", "")
        jamo = bool(_JAMO_ONLY.match(q))
        ranked: list[tuple[int, int, str]] = []
        for inst, code, name, name_en, cho in self.keys:
            score: int | None = None
            if code == q or name == q:
                score = 0
            elif code.startswith(q) or name.startswith(q):
                score = 1
            elif name_en and name_en.startswith(q):
                score = 2
            elif jamo and cho.startswith(q):
                score = 1 if len(cho) == len(q) else 3
            elif q in name or (name_en and q in name_en):
                score = 4
            elif jamo and q in cho:
                score = 5
            if score is not None:
                cap = -(inst.shares or 0) * (inst.prev_close or 0)
                ranked.append((score, cap, inst.symbol))
        ranked.sort()
        return [r[2] for r in ranked[:limit]]


@dataclass
class InProcess:
    """Search cost without HTTP: the index against the linear scan, same keywords, same run."""

    instruments: int
    index_p50_us: float
    index_p99_us: float
    linear_p50_us: float
    linear_p99_us: float


def in_process(rounds: int, limit: int = 20) -> InProcess:
    insts = load_instruments()
    market = Market(store=None, instruments=insts)  # type: ignore[arg-type]  # search only
    scan = LinearScan(insts)

    def timed(fn: Callable[[str, int], object], keyword: str) -> float:
        t0 = time.perf_counter()
        fn(keyword, limit)
        return (time.perf_counter() - t0) * 1e6

    idx: list[float] = []
    lin: list[float] = []
    for _ in range(rounds):  # interleaved: both see the same machine load
        for k in KEYWORDS:
            idx.append(timed(market.search, k))
            lin.append(timed(scan.search, k))
    return InProcess(len(insts), _pct(idx, 0.5), _pct(idx, 0.99), _pct(lin, 0.5), _pct(lin, 0.99))


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
