"""Every ``aegis bench`` scenario runs end to end at a small size (so none can rot), and the bench
works on a plain install: without pandas and psutil, which are dev-only."""

from __future__ import annotations

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
    return r.output


def test_bench_ingest_small() -> None:
    out = _bench("ingest", "--ticks", "3000", "--batch", "500")
    assert "AEGIS ingest: 3,000 ticks" in out


def test_bench_import_small() -> None:
    out = _bench("import", "--ticks", "3000")
    assert "aegis import ticks: 3,000 rows, 8 symbols" in out
    assert "nothing new" in out


def test_bench_fanout_small() -> None:
    out = _bench("fanout", "--clients", "4", "--symbols", "3", "--rate", "200", "--seconds", "2")
    assert "4 clients × 3 symbols" in out
    assert "server RSS" in out and "unknown" not in out  # Linux: read from /proc


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

    assert starlette.testclient.httpx.__name__ == "httpx2"


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
