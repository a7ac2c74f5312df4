"""Imported tick history through a (re)start of the server, as a user meets it: the day candles
are served as stored (not rebuilt from the last minute), labelled ``import``, and the live
retention windows leave them alone unless told otherwise — and say what they removed."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from aegis.aggregator.engine import recompute
from aegis.cli.importing import import_ticks_file
from aegis.core.config import Settings
from aegis.core.timeutil import KST
from aegis.domain.intervals import parse_interval
from aegis.history.ticks_csv import read_ticks_csv
from aegis.reference import load_instruments
from aegis.store.migrate import upgrade_all
from tests.support.app import running_app
from tests.support.wait import wait_until

DAYS = (date(2024, 3, 4), date(2024, 3, 5))


def _csv(path: Path) -> Path:
    rows = ["symbol,time,price,volume,side"]
    for d in DAYS:
        for minute in [*range(0, 12), *range(380, 390)]:  # 09:00… and …15:29
            t = datetime(d.year, d.month, d.day, 9, tzinfo=KST) + timedelta(minutes=minute)
            for k in range(3):
                price = 157_000 + ((minute * 7 + k * 3) % 11) * 100
                stamp = (t + timedelta(seconds=k * 15)).isoformat()
                rows.append(f"000660,{stamp},{price},{10 + k + minute % 5},buy")
    path.write_text("\n".join(rows) + "\n")
    return path


def _import(tmp_path: Path, **overrides: object) -> Path:
    settings = Settings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]
    upgrade_all(settings.store_url, settings.app_db_url)
    f = _csv(tmp_path / "ticks.csv")
    asyncio.run(import_ticks_file(settings, f, Console(quiet=True)))
    return f


def _expected(f: Path, interval: str) -> list[dict[str, object]]:
    instruments = {i.symbol: i for i in load_instruments()}
    ticks = read_ticks_csv(f, instruments).ticks()
    return [
        {
            "time": c.start // 1_000_000,
            "open": c.open,
            "high": c.high,
            "low": c.low,
            "close": c.close,
            "volume": c.volume,
            "amount": c.amount,
            "source": "import",
        }
        for c in recompute(ticks, parse_interval(interval))
    ]


# the imported days only: the real daily history shipped with AEGIS has the days around them
QUERY = {"start": "2024-03-03T00:00:00+09:00", "end": "2024-03-06T00:00:00+09:00"}


@pytest.mark.parametrize("interval", ["1d", "1h", "15m", "5m", "1m"])
def test_after_a_restart_imported_candles_are_served_as_stored_and_labelled_import(
    tmp_path: Path, interval: str
) -> None:
    f = _import(tmp_path)
    with running_app(tmp_path) as (client, rt, _source):
        wait_until(lambda: rt.retention_ran is not None)  # the first retention pass ran

        r = client.get("/api/v1/candles/000660", params={"interval": interval, **QUERY})

        body = r.json()
        assert r.status_code == 200, body
        assert body["data"] == _expected(f, interval)
        assert body["meta"]["source"] == "import"


def test_retention_keeps_imported_history_and_reports_its_passes(tmp_path: Path) -> None:
    f = _import(tmp_path)
    with running_app(tmp_path) as (client, rt, _source):
        wait_until(lambda: rt.retention_ran is not None)

        status = client.get("/api/v1/system/status").json()["data"]["retention"]
        minutes = client.get(
            "/api/v1/candles/000660", params={"interval": "1m", "limit": 1000, **QUERY}
        ).json()["data"]

    assert status["keptSources"] == ["backfill", "import"]
    assert status["lastRun"] is not None
    assert status["tickDays"] == 7
    assert not [e for e in status["removed"] if e["rows"] and e["target"] == "ticks"]
    assert len(minutes) == len(_expected(f, "1m"))


def test_retention_told_to_remove_history_says_what_it_removed_and_when(tmp_path: Path) -> None:
    f = _import(tmp_path, retention_keeps_history=False)
    n_ticks = len(read_ticks_csv(f, {i.symbol: i for i in load_instruments()}))
    with running_app(tmp_path, retention_keeps_history=False) as (client, rt, _source):
        wait_until(lambda: rt.retention_ran is not None)

        status = client.get("/api/v1/system/status").json()["data"]["retention"]
        minutes = client.get("/api/v1/candles/000660", params={"interval": "1m", **QUERY}).json()[
            "data"
        ]

    assert status["keptSources"] == []
    removed = {e["target"]: e for e in status["removed"]}
    assert removed["ticks"]["rows"] == n_ticks
    assert removed["candles_1m"]["rows"] == len(_expected(f, "1m"))
    assert removed["ticks"]["at"] == status["lastRun"]
    assert removed["ticks"]["before"] < removed["ticks"]["at"]
    assert minutes == []
