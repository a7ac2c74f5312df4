"""The server process of ``aegis bench fanout``: the real app, served as ``aegis serve`` serves
it, with a paced source."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import uvicorn

from aegis.api.app import create_app
from aegis.api.serving import uvicorn_options
from aegis.bench.paced import PacedSource
from aegis.core.config import Settings
from aegis.reference import load_instruments
from aegis.services.runtime import Runtime
from aegis.store.migrate import upgrade_all


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, default=5000)
    p.add_argument(
        "--connect-rate",
        type=float,
        default=None,
        help="market rate until SIGUSR1 (the clients are connected), then --rate",
    )
    p.add_argument("--data-dir", type=Path, required=True)
    args = p.parse_args()
    # thousands of clients from one address: connection limits would measure the limiter
    settings = Settings(
        data_dir=args.data_dir,
        ws_max_symbols=200,
        ws_anonymous_max_symbols=200,
        rate_limit_ws="off",
        # a fresh data directory would seed the news archive (seconds of CPU in a thread holding
        # the GIL) and poll feeds inside the measured window: start-up work, not fanout
        news_poll_seconds=0,
    )
    upgrade_all(settings.store_url, settings.app_db_url)
    source = PacedSource(load_instruments(), args.connect_rate or args.rate)

    def full_rate(*_: object) -> None:
        source.rate = args.rate

    signal.signal(signal.SIGUSR1, full_rate)
    rt = Runtime(settings, sources=[source])
    uvicorn.run(
        create_app(settings, runtime=rt, freeze_heap=True),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        **uvicorn_options(settings),  # what `aegis serve` runs
    )


if __name__ == "__main__":
    main()
