"""User input never reaches a 5xx: each case gets the envelope (or the close code) it should."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from aegis.core.config import Settings
from aegis.domain.intervals import parse_interval
from aegis.services.runtime import Runtime
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.support.app import running_app
from tests.support.inloop import serving
from tests.support.sources import ScriptedSource

INDEX = """<!doctype html><html><head><script>
  document.documentElement.dataset.theme = "dark";
</script></head><body><div id="app"></div><script type="module" src="/assets/app.js"></script>
</body></html>"""


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text(INDEX)
    (d / "assets" / "app.js").write_text("console.log('aegis')")
    return d


@pytest.fixture
def client(tmp_path: Path, dist: Path) -> Iterator[TestClient]:
    with running_app(tmp_path, web_dist=dist) as (client, _, _):
        yield client


def assert_envelope(resp: object, status: int) -> dict[str, object]:
    assert getattr(resp, "status_code", None) == status, getattr(resp, "text", resp)
    body = orjson.loads(resp.content)  # type: ignore[attr-defined]
    assert body["status"] == status and body["code"] and body["message"]
    return dict(body)


@pytest.mark.parametrize(
    "query",
    [
        "start=9223372036855",
        "end=-9223372036855",
        "start=99999999999999999999999",
        "start=1e400",
        "end=10000-01-01",
        "start=0001-01-01T00:00:00%2B09:00",
        "start=" + "9" * 5000,
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/candles/005930", "/api/v1/companies/1/ohlcv"])
def test_instants_out_of_range_are_400_not_500(client: TestClient, path: str, query: str) -> None:
    body = assert_envelope(client.get(f"{path}?interval=1d&{query}"), 400)
    assert body["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize("path", ["/%00", "/index.html%00.js", "/assets/app.js%00", "/a%00/b"])
def test_nul_bytes_in_static_paths_are_404_not_500(client: TestClient, path: str) -> None:
    assert_envelope(client.get(path), 404)


def test_static_files_are_still_served(client: TestClient) -> None:
    assert client.get("/assets/app.js").text == "console.log('aegis')"
    assert '<div id="app">' in client.get("/stocks/005930").text  # client-side route


@pytest.mark.parametrize(
    ("spellings", "name"),
    [
        (["2m", "02m", "002m", "0002m"], "2m"),
        (["60m", "1h", "01h"], "1h"),
        (["1440m", "24h", "1d", "01d"], "1d"),
        (["1w", "01w"], "1w"),
        (["1M", "001M"], "1M"),
    ],
)
def test_every_spelling_of_an_interval_has_one_canonical_name(
    spellings: list[str], name: str
) -> None:
    assert {parse_interval(s).name for s in spellings} == {name}


def test_interval_spellings_are_one_subscription_and_one_name_in_rest(client: TestClient) -> None:
    metas = {
        client.get(f"/api/v1/candles/005930?interval={s}").json()["meta"]["interval"]
        for s in ("2m", "02m", "002m")
    }
    assert metas == {"2m"}
    with client.websocket_connect("/ws/stocks") as ws:
        for s in ("2m", "02m", "002m", "0002m"):
            ws.send_text(
                orjson.dumps(
                    {
                        "action": "subscribe",
                        "channel": "candles",
                        "interval": s,
                        "symbols": ["005930"],
                    }
                ).decode()
            )
            ack = orjson.loads(ws.receive_text())
            assert ack["type"] == "subscribed" and ack["interval"] == "2m"
        hub = client.app.state.runtime.hub  # type: ignore[attr-defined]
        assert [k for k in hub._by_candle if k[0] == "005930"] == [("005930", "2m")]


def test_unicode_digits_are_not_an_interval() -> None:
    from aegis.core.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        parse_interval("٢m")  # Arabic-Indic two


def test_sse_answers_what_it_documents(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    documented = set(doc["paths"]["/api/stream/stocks"]["get"]["responses"])
    assert {"200", "400", "404", "503"} <= documented
    assert "422" not in documented
    assert assert_envelope(client.get("/api/stream/stocks"), 400)["code"] == "MISSING_FIELD"
    assert_envelope(client.get("/api/stream/stocks?symbols=999999"), 404)


def test_no_operation_documents_a_422(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert "422" not in op["responses"], f"{method} {path}"
            if op.get("parameters"):
                assert "400" in op["responses"], f"{method} {path}"
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    # and validation errors really are 400
    assert_envelope(client.get("/api/v1/companies?keyword="), 400)


@pytest.fixture
async def live(tmp_path: Path) -> object:
    settings = Settings(data_dir=tmp_path)
    upgrade_all(settings.store_url, settings.app_db_url)
    rt = Runtime(settings, store=SQLiteStore(settings.sqlite_path), sources=[ScriptedSource()])
    async with serving(settings, rt) as addr:
        yield addr


@pytest.mark.parametrize("length", [108, 200, 2000])
async def test_a_long_realtime_code_is_closed_4404_with_a_reason_that_fits(
    live: str, length: int
) -> None:
    code = "가" * (length // 3) + "9" * (length % 3)  # multi-byte: the cut must respect UTF-8
    ws = await connect(f"ws://{live}/ws/realtime/{code}")
    async with asyncio.timeout(30):
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    assert ws.close_code == 4404
    assert ws.close_reason is not None
    assert 0 < len(ws.close_reason.encode()) <= 123
    assert ws.close_reason.startswith("unknown symbol")


async def test_a_url_over_the_parsers_limit_gets_the_envelope(live: str) -> None:
    host, port = live.split(":")

    def request() -> bytes:
        with socket.create_connection((host, int(port)), timeout=30) as s:
            s.sendall(b"GET /api/v1/quotes?symbols=" + b"A" * 70_000 + b" HTTP/1.1\r\n")
            s.sendall(b"Host: " + live.encode() + b"\r\n\r\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)

    raw = await asyncio.to_thread(request)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/json" in head.lower()
    doc = orjson.loads(body)
    assert doc["status"] == 400 and doc["code"] == "INVALID_REQUEST"
