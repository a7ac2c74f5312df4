"""Through the real app: after a gap on the bus, WebSocket and SSE clients get the stored ticks
they missed as a ``backfill`` message (its published schema) and a ``resynced`` notice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aegis.api.schemas import BackfillMessage, ResyncedMessage
from aegis.bus.base import GAP, TICKS
from aegis.domain.ticks import BUY, Tick
from aegis.services import stream
from tests.api.test_rest import T0, wait_for
from tests.api.test_streams import push, recv_until
from tests.support.app import running_app

LOST = [Tick("005930", T0 + i * 1_000_000, 200_000 + i * 100, i, BUY, i, "sim") for i in (2, 3)]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(stream, "RESYNC_DELAY_S", 0.0)
    with running_app(tmp_path) as (client, rt, source):
        wait_for(lambda: source.sink is not None)
        yield client, rt, source


def lose_ticks(client: Any, rt: Any, source: Any) -> None:
    """Ticks 2 and 3 are stored but never reach the hub; tick 4 follows the gap."""
    client.portal.call(rt.store.write_ticks, LOST)
    client.portal.call(rt.bus.publish, TICKS, GAP)
    push(client, source, Tick("005930", T0 + 4_000_000, 200_400, 4, BUY, 4, "sim"))


def test_a_websocket_client_is_refilled_after_a_gap(app: Any) -> None:
    client, rt, source = app
    with client.websocket_connect("/ws/stocks?batch=1") as ws:
        ws.send_json({"action": "subscribe", "symbols": ["005930"]})
        recv_until(ws, lambda m: m["type"] == "subscribed")
        push(client, source, Tick("005930", T0 + 1_000_000, 200_100, 1, BUY, 1, "sim"))
        recv_until(ws, lambda m: m["type"] == "tick")
        lose_ticks(client, rt, source)
        resynced = recv_until(ws, lambda m: m["type"] == "resynced", limit=500)
        ResyncedMessage.model_validate(resynced)
        m = recv_until(ws, lambda m: m["type"] == "backfill", limit=500)
    BackfillMessage.model_validate(m)
    assert m["symbol"] == "005930"
    assert [(t["price"], t["volume"]) for t in m["ticks"]] == [(200_200, 2), (200_300, 3)]


def test_an_sse_client_is_refilled_after_a_gap(app: Any) -> None:
    client, rt, source = app
    with client.stream("GET", "/api/stream/stocks?symbols=005930") as r:
        lines = r.iter_lines()
        assert next(lines) == ": connected"
        wait_for(lambda: rt.hub.subscribers)
        push(client, source, Tick("005930", T0 + 1_000_000, 200_100, 1, BUY, 1, "sim"))
        lose_ticks(client, rt, source)
        events: list[str] = []
        for line in lines:
            if line.startswith("event: "):
                events.append(line[7:])
            elif line.startswith("data: ") and events[-1] == "backfill":
                m = json.loads(line[6:])
                break
        for s in list(rt.hub.subscribers):
            s.channel.close()
    BackfillMessage.model_validate(m)
    assert [t["volume"] for t in m["ticks"]] == [2, 3]
    assert events[0] == "tick" and "resynced" in events
