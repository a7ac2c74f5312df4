"""The streaming messages the server really sends match the schemas published in OpenAPI (from
which the web client's types are generated), and web/openapi.json is the server's current
document, so the generated web types cannot drift from the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aegis.api.app import create_app
from aegis.api.schemas import (
    AckMessage,
    BackfillMessage,
    CandleMessage,
    ConflatedMessage,
    ErrorMessage,
    PingMessage,
    PongMessage,
    QuotesMessage,
    ResyncedMessage,
    TickMessage,
    Wire,
)
from aegis.core.config import Settings
from aegis.domain.ticks import BUY, Tick
from tests.api.test_rest import T0, wait_for
from tests.api.test_streams import push
from tests.support.app import running_app

MODELS: dict[str, type[Wire]] = {
    "tick": TickMessage,
    "candle": CandleMessage,
    "quotes": QuotesMessage,
    "subscribed": AckMessage,
    "unsubscribed": AckMessage,
    "error": ErrorMessage,
    "ping": PingMessage,
    "pong": PongMessage,
    "conflated": ConflatedMessage,
    "backfill": BackfillMessage,  # sent after a gap: tests/api/test_stream_backfill.py
    "resynced": ResyncedMessage,
}
WEB = Path(__file__).resolve().parents[2] / "web"


def test_every_message_the_server_sends_matches_its_published_schema(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, rt, source):
        wait_for(lambda: source.sink is not None)
        # a symbol whose previous close is unknown (a new listing): its ticks carry change = null
        assert rt.market is not None
        live = rt.market.live
        known = live.prev_day_close
        live.prev_day_close = lambda symbol: None if symbol == "000270" else known(symbol)  # type: ignore[method-assign]
        rt.market.by_symbol["000270"].prev_close = None
        seen: dict[str, int] = {}
        with client.websocket_connect("/ws/stocks") as ws:
            for msg in (
                {"action": "subscribe", "symbols": ["005930", "000270"]},
                {"action": "subscribe", "channel": "candles", "interval": "5m",
                 "symbols": ["005930"]},
                {"action": "subscribe", "channel": "candles", "interval": "3m",
                 "symbols": ["005930"]},
                {"action": "subscribe", "channel": "quotes"},
                {"action": "ping"},
                {"action": "nope"},
                {"action": "unsubscribe", "channel": "quotes"},
            ):  # fmt: skip
                ws.send_text(json.dumps(msg))
            push(client, source, Tick("005930", T0, 200_000, 7, BUY, 1, "sim"),
                 Tick("000270", T0, 1_000_000, 1, BUY, 1, "sim"))  # fmt: skip
            ticks: list[dict[str, Any]] = []
            while len(seen) < 7 or len(ticks) < 2:
                got = ws.receive_json()
                for m in got if isinstance(got, list) else [got]:
                    MODELS[m["type"]].model_validate(m)  # exactly the published shape
                    seen[m["type"]] = seen.get(m["type"], 0) + 1
                    if m["type"] == "tick":
                        ticks.append(m)
    assert {"tick", "candle", "subscribed", "unsubscribed", "error", "pong"} <= set(seen)
    by_symbol = {t["symbol"]: t for t in ticks}
    assert by_symbol["000270"]["change"] is None  # what the web's old TickMsg called a number
    assert isinstance(by_symbol["005930"]["change"], float | int)


def test_the_stream_schemas_are_in_openapi() -> None:
    schemas = create_app(Settings()).openapi()["components"]["schemas"]
    tick = schemas["TickMessage"]
    assert {"type": "null"} in tick["properties"]["change"]["anyOf"]
    assert set(MODELS.values()) <= {m for m in MODELS.values() if m.__name__ in schemas}


@pytest.mark.skipif(not (WEB / "openapi.json").is_file(), reason="no web/ beside the package")
def test_web_openapi_snapshot_is_the_servers_current_document() -> None:
    """If this fails: `cd web && npm run gen:api` (regenerates openapi.json and the types)."""
    current = json.loads(json.dumps(create_app(Settings()).openapi()))
    snapshot = json.loads((WEB / "openapi.json").read_text(encoding="utf-8"))
    assert snapshot == current
