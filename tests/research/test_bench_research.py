"""The research bench scenario runs end to end at a small size (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from aegis.bench.research import PAGE, measure
from tests.support.app import running_app


def test_research_bench_measures_search_and_company_pages(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, _rt, _src):
        # TestClient is an httpx2 Client, not an httpx one: measure only uses .get, which both have
        res = measure(client, rounds=1, companies=2)  # type: ignore[arg-type]
    assert res.search_requests == 20 and res.companies == 2
    assert res.search_p50_ms > 0 and res.page_max_ms >= res.page_p50_ms > 0
    assert len(res.call_max_ms) == len(PAGE)
