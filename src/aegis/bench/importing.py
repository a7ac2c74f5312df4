"""``aegis bench import``: ``aegis import ticks`` on a CSV of one session, end to end (parse,
validate, dedup, five candle intervals, SQLite), beside the pandas baseline measured in the same
run: ``read_csv`` + ``resample().ohlc()`` for the same five intervals + ``to_sql`` into SQLite.

pandas is not a dependency of AEGIS: the baseline runs only where it is installed
(``pip install 'aegis[bench]'`` or the dev environment) and is reported as skipped otherwise."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.console import Console

from aegis.core.config import Settings
from aegis.core.timeutil import KST
from aegis.domain.krx import tick_size

SYMBOLS = ("005930", "000660", "005380", "035420", "051910", "006400", "035720", "068270")
SESSION_DAY = date(2024, 3, 4)
SESSION_SECONDS = 6 * 3600 + 30 * 60  # 09:00 → 15:30 KST
PANDAS_RULES = ("1min", "5min", "15min", "1h", "1D")


@dataclass
class ImportBenchResult:
    ticks: int
    symbols: int
    seconds: float
    imported: int
    reimport_seconds: float
    pandas_seconds: float | None  # None: pandas is not installed
    cpu_seconds: float = 0.0  # process CPU time (all threads): steadier on a shared machine
    pandas_cpu_seconds: float | None = None

    @property
    def rate(self) -> float:
        return self.ticks / self.seconds

    @property
    def pandas_rate(self) -> float | None:
        return None if not self.pandas_seconds else self.ticks / self.pandas_seconds


def write_session_csv(path: Path, n: int, seed: int = 1, symbols: int = len(SYMBOLS)) -> None:
    """``n`` trades of ``symbols`` stocks spread over one KRX session, random-walk prices on the
    tick grid, in time order, as ``symbol,time,price,volume,side`` with millisecond KST times."""
    rnd = random.Random(seed)
    syms = SYMBOLS[:symbols]
    price = {s: 50_000 + 10_000 * i for i, s in enumerate(syms)}
    open_ = datetime(SESSION_DAY.year, SESSION_DAY.month, SESSION_DAY.day, 9, tzinfo=KST)
    step_ms = SESSION_SECONDS * 1000 / n
    sides = ("buy", "sell", "")
    with path.open("w", encoding="utf-8") as f:
        f.write("symbol,time,price,volume,side\n")
        lines = []
        for i in range(n):
            s = syms[rnd.randrange(len(syms))]
            p = price[s]
            p = max(tick_size(p), p + rnd.choice((-1, 0, 0, 1)) * tick_size(p))
            price[s] = p
            ts = open_ + timedelta(milliseconds=int(i * step_ms))
            stamp = ts.isoformat(timespec="milliseconds")
            lines.append(f"{s},{stamp},{p},{rnd.randint(1, 500)},{sides[i % 3]}\n")
            if len(lines) >= 100_000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)


def pandas_baseline(csv_path: Path, db_path: Path) -> tuple[float, float] | None:
    """read_csv + resample().ohlc() (+ volume sums) for five intervals per symbol + to_sql of
    the ticks and candles into SQLite. None when pandas is not installed."""
    try:
        import pandas as pd
    except ImportError:
        return None
    t0 = time.perf_counter()
    c0 = time.process_time()
    df = pd.read_csv(csv_path, dtype={"symbol": str, "side": str})
    df["time"] = pd.to_datetime(df["time"], format="ISO8601", utc=True).dt.tz_convert(KST.key)
    df = df.set_index("time")
    with sqlite3.connect(db_path) as conn:
        df.to_sql("ticks", conn, if_exists="replace", chunksize=100_000)
        grouped = df.groupby("symbol")
        for rule in PANDAS_RULES:
            ohlc = grouped["price"].resample(rule).ohlc()
            ohlc["volume"] = grouped["volume"].resample(rule).sum()
            ohlc.dropna().to_sql(f"candles_{rule}", conn, if_exists="replace")
    return time.perf_counter() - t0, time.process_time() - c0


def run(n: int, seed: int = 1, with_pandas: bool = True) -> ImportBenchResult:
    from aegis.cli.importing import import_ticks_file

    quiet = Console(quiet=True)
    with tempfile.TemporaryDirectory() as d:
        csv_path = Path(d) / "ticks.csv"
        write_session_csv(csv_path, n, seed)
        settings = Settings(data_dir=Path(d) / "data", source="kis")
        t0 = time.perf_counter()
        c0 = time.process_time()
        imported = asyncio.run(import_ticks_file(settings, csv_path, quiet))
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        t0 = time.perf_counter()
        asyncio.run(import_ticks_file(settings, csv_path, quiet))  # nothing new: dedup only
        reimport = time.perf_counter() - t0
        base = pandas_baseline(csv_path, Path(d) / "pandas.db") if with_pandas else None
    return ImportBenchResult(
        n,
        len(SYMBOLS),
        seconds,
        imported,
        reimport,
        None if base is None else base[0],
        cpu,
        None if base is None else base[1],
    )
