"""``aegis bench favorites`` at a small size, so that the scenario cannot rot."""

from __future__ import annotations

from aegis.bench.favorites import run


def test_favorites_bench_polls_with_real_tokens() -> None:
    res = run(n_users=5, seconds=2, per_user=2)
    # every request of both phases answered 200: the minted tokens and seeded rows are valid
    assert res.favorites.errors == 0 and res.baseline.errors == 0
    assert 5 <= len(res.favorites.latencies_ms) <= 5 * 2
    assert 5 <= len(res.baseline.latencies_ms) <= 5 * 2
    # the load generator's own CPU is measured beside the server's
    assert res.favorites.client_cpu_s > 0 and res.favorites.client_cpu_ms_per_request > 0
