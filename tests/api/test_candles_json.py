"""The store-built JSON of /candles equals the Python-built one, for won and for index points."""

from __future__ import annotations

from pathlib import Path

import pytest

from aegis.domain.intervals import parse_interval
from tests.api.test_rest import samsung_ticks, wait_for
from tests.support.app import running_app


@pytest.mark.parametrize(
    ("symbol", "interval", "query"),
    [
        ("005930", "1m", {}),
        ("005930", "1m", {"limit": 7}),
        ("005930", "1m", {"limit": 1}),
        ("005930", "1d", {"limit": 300}),
        ("KOSPI", "1d", {"limit": 2000}),
        ("KOSPI", "1d", {"start": "2020-01-01", "end": "2021-01-01"}),
    ],
)
def test_fast_path_equals_python_path(
    tmp_path: Path, symbol: str, interval: str, query: dict[str, int | str]
) -> None:
    with running_app(tmp_path, [samsung_ticks()]) as (client, rt, source):
        wait_for(lambda: source.ready.is_set())
        assert client.portal is not None and rt.ingest is not None
        client.portal.call(rt.ingest.flush)
        fast = client.get(f"/api/v1/candles/{symbol}", params={"interval": interval, **query})
        assert fast.status_code == 200
        market = rt.market
        assert market is not None

        async def python_path() -> list[dict[str, object]]:
            from aegis.core.timeutil import parse_instant

            iv = parse_interval(interval)
            lo = parse_instant(str(query["start"])) if "start" in query else None
            hi = parse_instant(str(query["end"])) if "end" in query else None
            limit = int(query.get("limit", 500))
            inst = market.instrument(symbol)
            return [
                {
                    "time": c.start // 1_000_000,
                    "open": inst.price_value(c.open),
                    "high": inst.price_value(c.high),
                    "low": inst.price_value(c.low),
                    "close": inst.price_value(c.close),
                    "volume": inst.qty_value(c.volume),
                    "amount": inst.amount_value(c.amount),
                    "source": c.source,
                }
                for c in await market.candles(symbol, iv, lo, hi, limit)
            ]

        expected = client.portal.call(python_path)
        assert expected, "the case must have candles"
        assert fast.json()["data"] == expected
