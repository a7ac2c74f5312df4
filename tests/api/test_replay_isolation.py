"""`aegis serve --replay DATE`: the replay keeps to a store of its own (real history is never
touched), its quotes are those of the replayed day (prevClose = the real close before it), no
stock shows another day's price beside it, and its ticks are fresh (none takes the slow
out-of-order path that made a whole-market replay fall behind its speed)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from aegis.api.app import create_app
from aegis.core.config import Settings
from aegis.core.timeutil import kst_midnight_us
from aegis.reference.history import bar_on
from aegis.services.runtime import Runtime
from aegis.sources.sim import SimSource
from aegis.store.migrate import upgrade_all
from tests.support.wait import wait_until

DAY = date(2023, 12, 22)
SEC = 1_000_000
OPEN = kst_midnight_us(DAY) + 9 * 3600 * SEC


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_replay_keeps_to_its_own_store_and_quotes_the_replayed_day(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sim_replay=DAY.isoformat(), sim_speed=60)
    upgrade_all(settings.store_url, settings.app_db_url)
    rt = Runtime(settings)
    with TestClient(create_app(settings, runtime=rt, web_dist=tmp_path / "no-web")) as client:
        sim = next(s for s in rt.sources if isinstance(s, SimSource))
        # two minutes of the replayed session
        wait_until(lambda: sim.engine is not None and sim.engine.session_us > OPEN + 120 * SEC)
        assert client.portal is not None and rt.ingest is not None and rt.hub is not None
        for task in rt._tasks:  # stop the replay where it is, so what follows is stable
            if task.get_name() == "source-sim":
                client.portal.call(_cancel, task)
        client.portal.call(rt.ingest.flush)
        wait_until(lambda: rt.hub.ticks_in >= rt.ingest.accepted)  # type: ignore[union-attr]

        day = client.get(
            "/api/v1/candles/005930",
            params={"interval": "1d", "start": "2023-12-21", "end": "2023-12-23"},
        ).json()["data"]
        quotes = client.get("/api/v1/quotes", params={"symbols": "005930,005935"}).json()["data"]
        ticks = client.portal.call(rt.store.get_ticks, "005930", OPEN - SEC, OPEN + 86_400 * SEC)
        late = rt.ingest.late

    pair = bar_on("005930", DAY)
    assert pair is not None
    before, bar = pair
    # real history up to the day before, then the replayed day made of its own ticks only
    assert [c["source"] for c in day] == ["import", "sim"]
    assert day[0]["close"] == before.close == 75_000
    assert day[1]["open"] == bar.open
    assert ticks and day[1]["volume"] == sum(t.volume for t in ticks) <= bar.volume
    # quotes of the replayed day: change against the real close before it
    assert [q["symbol"] for q in quotes] == ["005930"]  # 005935 has no price of that day
    assert quotes[0]["prevClose"] == before.close
    assert quotes[0]["price"] == ticks[-1].price
    # every replayed tick was fresh: the store held nothing newer than the replayed day
    assert late == 0
    # the replay wrote only its own file
    assert rt.store.describe()["path"] == str(tmp_path / f"aegis-replay-{DAY}.db")
    assert not (tmp_path / "aegis-sim.db").exists()
    assert not (tmp_path / "aegis.db").exists()


def test_a_replay_ignores_the_server_mode_database_and_bus() -> None:
    settings = Settings(
        sim_replay="2023-12-22",
        database_url="postgresql://aegis@127.0.0.1:1/real",
        redis_url="redis://127.0.0.1:1/0",
    )

    rt = Runtime(settings)

    assert rt.store.kind == "sqlite"
    assert rt.bus.kind == "memory"
    assert settings.store_url.startswith("sqlite:///") and "aegis-replay-2023-12-22" in (
        settings.store_url
    )
