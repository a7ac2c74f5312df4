"""The news/AI bench scenario runs end to end at a small size (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from aegis.bench.newsai import CALLS, measure
from tests.support.app import running_app


def test_newsai_bench_measures_cold_and_cached_calls(tmp_path: Path) -> None:
    with running_app(tmp_path, news_poll_seconds=0) as (client, _rt, _src):
        # TestClient is an httpx2 Client, not an httpx one: measure only uses .get, which both have
        res = measure(client, rounds=1, companies=2)  # type: ignore[arg-type]
    assert res.companies == 2 and res.seed_ms > 0
    assert set(res.cold_p50_ms) == set(res.warm_p50_ms) == set(CALLS)
    assert res.search_p50_ms > 0 and res.keywords_p50_ms > 0 and res.baseline_p50_ms > 0
