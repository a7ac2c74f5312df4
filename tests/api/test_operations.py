"""Operations: /readyz says whether the process can serve and why not; every response carries a
request id (kept from a safe incoming X-Request-ID) that error envelopes and log lines repeat;
JSON logs are one object per line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from aegis.core.logs import JsonFormatter, RequestIdFilter, request_id
from aegis.domain.candles import Candle
from tests.support.app import running_app


def test_readyz_is_ready_when_store_bus_and_sources_are(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, _, _):
        r = client.get("/readyz")
        assert r.status_code == 200
        checks = r.json()["checks"]
        assert set(checks) == {"store", "bus", "sources", "market"}
        assert all(c["ok"] for c in checks.values())


def test_readyz_is_503_naming_the_failed_check_when_the_store_is_gone(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, rt, _):

        async def broken(symbol: str, interval: str, start: int) -> Candle | None:
            raise OSError("disk gone")

        rt.store.get_candle = broken  # type: ignore[method-assign]
        r = client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["code"] == "NOT_READY"
        assert body["details"]["checks"]["store"] == {"ok": False, "error": "OSError: disk gone"}
        assert client.get("/healthz").status_code == 200  # alive all the same


def test_every_response_has_a_request_id_and_errors_repeat_it(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, _, _):
        ok = client.get("/api/v1/system/status")
        assert len(ok.headers["x-request-id"]) == 32
        err = client.get("/api/v1/companies/999999999", headers={"X-Request-ID": "nginx-abc.1"})
        assert err.status_code == 404
        assert err.headers["x-request-id"] == "nginx-abc.1"
        assert err.json()["requestId"] == "nginx-abc.1"
        # an unsafe incoming id (log injection, overlong) is replaced, not echoed
        for unsafe in ("a b\tc", "x" * 65, "id;rm"):
            bad = client.get("/api/v1/system/status", headers={"X-Request-ID": unsafe})
            assert bad.headers["x-request-id"] != unsafe
            assert len(bad.headers["x-request-id"]) == 32


def test_json_log_lines_carry_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.LogRecord("aegis.test", logging.ERROR, __file__, 1, "boom %d", (7,), None)
    token = request_id.set("rid-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    doc = json.loads(JsonFormatter().format(record))
    assert doc["message"] == "boom 7"
    assert doc["level"] == "ERROR"
    assert doc["requestId"] == "rid-1"


def test_api_gets_carry_an_etag_and_answer_304_when_unchanged(tmp_path: Path) -> None:
    with running_app(tmp_path) as (client, _, _):
        url = "/api/v1/companies"
        first = client.get(url, params={"keyword": "삼성"})
        tag = first.headers["etag"]
        assert tag.startswith('"') and first.headers["cache-control"] == "no-cache"
        again = client.get(url, params={"keyword": "삼성"}, headers={"If-None-Match": tag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == tag
        other = client.get(url, params={"keyword": "SK"}, headers={"If-None-Match": tag})
        assert other.status_code == 200
        assert other.headers["etag"] != tag
        # errors are not tagged
        assert "etag" not in client.get("/api/v1/companies/999999999").headers
