"""KIS realtime frame parsing speed (records/s, one core).

uv run python scripts/bench_kis_parse.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.kis import trade_record
from tests.fakes.market import FakeMarket

from aegis.sources.kis.parse import parse_trades, split_frame


def frames(n_records: int, per_frame: int) -> list[str]:
    market = FakeMarket(("005930", "000660", "035420", "005380"), trades_per_vsecond=50)
    trades = market.generate(n_records)
    out = []
    for i in range(0, len(trades), per_frame):
        chunk = trades[i : i + per_frame]
        payload = "^".join("^".join(trade_record(t, market.day)) for t in chunk)
        out.append(f"0|H0STCNT0|{len(chunk):03d}|{payload}")
    return out


def bench(per_frame: int, n: int = 200_000, rounds: int = 5) -> float:
    data = frames(n, per_frame)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        count = 0
        for f in data:
            _, _, c, payload = split_frame(f)
            count += len(parse_trades(payload, c))
        best = min(best, time.perf_counter() - t0)
    assert count == n
    return n / best


if __name__ == "__main__":
    for per in (1, 4, 10):
        print(f"records/frame={per:>2}: {bench(per):>12,.0f} records/s")
