"""Soak: run the KIS source against the fake KIS for a while, cutting the connection every
N seconds, then check that the 1m candles equal those of the fault-free ground truth and that
the fake counted no rate-limit violation.

    uv run python scripts/soak_kis.py --minutes 10 --drop-every 30
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.kis import APP_KEY, APP_SECRET, FakeKis
from tests.fakes.market import FakeMarket
from tests.sources.conftest import expected_ticks
from tests.sources.helpers import CollectSink, candles_1m, identities

from aegis.core.config import Settings
from aegis.credentials.store import BrokerCredentials
from aegis.sources.common.backoff import Backoff
from aegis.sources.kis.source import KisSource

SYMBOLS = ("005930", "000660", "035420", "005380", "035720", "051910", "006400", "068270")


async def soak(minutes: float, drop_every: float, rate: float) -> int:
    total = int(minutes * 60 * rate)
    # exchange time runs at wall speed: trades_per_vsecond == rate
    market = FakeMarket(SYMBOLS, rate=rate, trades_per_vsecond=max(1, int(rate)), total=total)
    fake = FakeKis(market, ping_interval_s=5.0)
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            secret_key=SecretStr("soak"),
            kis_rest_url=fake.rest_url,
            kis_ws_url=fake.ws_url,
        )
        src = KisSource(
            settings,
            symbols=SYMBOLS,
            creds=BrokerCredentials(SecretStr(APP_KEY), SecretStr(APP_SECRET)),
            backoff=Backoff(0.2, 5.0),
            stall_timeout_s=15.0,
        )
        sink = CollectSink()
        task = asyncio.create_task(src.run(sink))
        await sink.wait_until(lambda: src.status.subscriptions >= len(SYMBOLS))
        t0 = time.monotonic()
        market.start()
        drops = 0
        while not market.done.is_set():
            try:
                async with asyncio.timeout(drop_every):
                    await market.done.wait()
            except TimeoutError:
                drops += fake.drop() and 1
                print(
                    f"[{time.monotonic() - t0:6.1f}s] drop #{drops}: {len(sink.received)} "
                    f"ticks so far, reconnects={src.status.reconnects}",
                    flush=True,
                )
        await sink.wait_until(lambda: len(sink.received) >= market.count, limit_s=120)
        await asyncio.sleep(1.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await fake.stop()
    want = expected_ticks(market)
    got = sink.received
    dup = len(got) - len(set(identities(got)))
    ok_candles = candles_1m(got) == candles_1m(want)
    print(
        f"trades={market.count} delivered={len(got)} duplicates={dup} "
        f"candles_1m={len(candles_1m(want))} equal={ok_candles} drops={drops} "
        f"reconnects={src.status.reconnects} backfilled={src.counts['backfilled']} "
        f"rest_requests={fake.requests} rate_violations={fake.violations} "
        f"tokens_issued={fake.tokens_issued} duration={time.monotonic() - t0:.1f}s"
    )
    return 0 if ok_candles and dup == 0 and fake.violations == 0 else 1


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--drop-every", type=float, default=30.0)
    p.add_argument("--rate", type=float, default=200.0, help="trades per second")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(asyncio.run(soak(a.minutes, a.drop_every, a.rate)))


if __name__ == "__main__":
    main()
