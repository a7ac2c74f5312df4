"""Every ``aegis bench`` scenario runs end to end at a small size (so none can rot), and the bench
works on a plain install: without pandas and psutil, which are dev-only."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from aegis.cli.app import app

runner = CliRunner()


def _bench(*args: str) -> str:
    r = runner.invoke(app, ["bench", *args])
    assert r.exit_code == 0, f"{r.output}\n{r.exception!r}"
    return " ".join(r.output.split())  # the console wraps long lines


def test_bench_ingest_small() -> None:
    out = _bench("ingest", "--ticks", "3000", "--batch", "500")
    assert "AEGIS ingest into SQLite: 3,000 ticks" in out


def test_bench_ingest_sparse_market_small() -> None:
    """``--rate 0``: the ticks spread over a whole session, about one per symbol-minute."""
    out = _bench("ingest", "--ticks", "20000", "--batch", "2000", "--rate", "0", "--no-pandas")
    assert "AEGIS ingest into SQLite: 20,000 ticks" in out
    assert "ticks per symbol-minute" in out


def test_bench_ingest_postgres_small_uses_a_scratch_database(postgres_url: str) -> None:
    import asyncio

    import asyncpg

    async def databases() -> set[str]:
        conn = await asyncpg.connect(postgres_url)
        try:
            return {r[0] for r in await conn.fetch("SELECT datname FROM pg_database")}
        finally:
            await conn.close()

    before = asyncio.run(databases())
    out = _bench(
        "ingest", "--ticks", "3000", "--batch", "500", "--rate", "0", "--no-pandas",
        "--database-url", postgres_url,
    )  # fmt: skip
    assert "AEGIS ingest into PostgreSQL" in out and "3,000 ticks" in out
    assert "tick write path alone (COPY" in out
    assert asyncio.run(databases()) == before  # the scratch databases are gone


def test_bench_import_small() -> None:
    out = _bench("import", "--ticks", "3000")
    assert "aegis import ticks: 3,000 rows, 8 symbols" in out
    assert "nothing new" in out


def test_bench_fanout_small() -> None:
    # the paced market opens with one auction print per listed symbol (2,881): at 3,000
    # ticks/s continuous trading of the watched symbols starts within the warm-up
    out = _bench(
        "fanout", "--clients", "4", "--symbols", "3", "--rate", "3000", "--seconds", "2",
        "--universe", "10",
    )  # fmt: skip
    assert re.search(
        r"4 clients \(4 connected in \d+ s, 0 failed to connect\) × 3 symbols of 10 traded", out
    )
    assert "server RSS" in out and "unknown" not in out  # Linux: read from /proc
    assert "KB per connection" in out and "per delivered tick" in out


def test_bench_api_small_serves_the_seeded_candles() -> None:
    out = _bench("api", "--candles", "200", "--requests", "3")
    assert "/ohlcv with 200 candles" in out


PLAIN = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoDevPackages(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("pandas", "psutil"):
                raise ImportError(f"{name} is not installed (plain install)")
            return None

    sys.meta_path.insert(0, NoDevPackages())
    from aegis.cli.app import main
    sys.argv = ["aegis", "bench", *sys.argv[1:]]
    main()
    """
)


def test_bench_runs_without_pandas_and_psutil() -> None:
    for args in (["ingest", "--ticks", "2000"], ["import", "--ticks", "2000"]):
        r = subprocess.run(
            [sys.executable, "-c", PLAIN, *args], capture_output=True, text=True, timeout=600
        )
        assert r.returncode == 0, r.stderr
        assert "pandas baseline skipped: pandas is not installed" in r.stdout
    import aegis.bench.fanout as fanout  # imports no psutil at module level any more

    assert "psutil" not in fanout.__dict__


def test_testclient_uses_httpx2() -> None:
    """Why httpx2 stays a dev dependency: starlette's TestClient is built on it."""
    import starlette.testclient

    # starlette's own import, not re-exported: read on purpose
    assert starlette.testclient.httpx.__name__ == "httpx2"  # type: ignore[attr-defined]


def test_bench_sim_catchup_small_stores_the_same_morning_both_ways() -> None:
    out = _bench("sim-catchup", "--quick", "--until", "09:05")  # one line: see _bench
    stored = re.findall(r"(bulk|live path): 09:00–09:05 of \d+ symbols at \d+ trades/s: "
                        r"([\d,]+) ticks and ([\d,]+) 1-minute candles stored", out)  # fmt: skip
    assert [kind for kind, _, _ in stored] == ["bulk", "live path"], out
    (_, bulk_ticks, bulk_candles), (_, live_ticks, live_candles) = stored
    assert int(bulk_ticks.replace(",", "")) > 0
    # the same morning stored by either path
    assert (bulk_ticks, bulk_candles) == (live_ticks, live_candles)


def test_bench_sim_catchup_fresh_start_small_times_every_stage() -> None:
    """``--fresh``: a whole fresh start, the API, today and each asked previous session."""
    out = _bench("sim-catchup", "--quick", "--fresh", "--until", "09:05", "--sessions", "2")
    stages = re.findall(r"\d+\.\d s \(CPU +\d+\.\d s\) +(API ready|today|previous session)", out)
    assert stages == ["API ready", "today", "previous session", "previous session"], out
    candles = re.search(r"previous sessions ([\d,]+) candles", out)
    assert candles is not None and int(candles.group(1).replace(",", "")) > 0, out


@pytest.mark.services
def test_bench_partitions_small(postgres_url: str) -> None:
    out = _bench(
        "partitions",
        "--database-url",
        postgres_url,
        "--symbols",
        "5",
        "--candle-days",
        "3",
        "--candles-per-day",
        "3",
        "--tick-days",
        "3",
        "--ticks-per-day",
        "500",
        "--repeat",
        "1",
    )
    assert "45 1m candles over 3 days, 1,500 ticks over 3 days" in out
    assert "day partitions: newest 1m candle" in out and "retention of one day (500 ticks)" in out
    assert "plain tables (baseline)" in out and out.count("(500 ticks)") == 2
