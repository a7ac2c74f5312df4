"""A busy SQLite writer (past busy_timeout) answers a retryable 503 envelope, never the bare
"internal error" a client cannot explain; other database errors stay 500."""

from __future__ import annotations

import sqlite3

from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from aegis.api import errors


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/locked")
    async def locked() -> None:
        raise OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))

    @app.get("/broken")
    async def broken() -> None:
        raise OperationalError("SELECT …", {}, sqlite3.OperationalError("no such table: x"))

    return app


def test_locked_database_is_a_503_with_retry_after() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        r = client.get("/locked")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    body = r.json()
    assert body["code"] == "DATABASE_BUSY"
    assert "internal error" not in body["message"]


def test_other_database_errors_stay_internal() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        r = client.get("/broken")
    assert r.status_code == 500
    assert r.json()["code"] == "INTERNAL_ERROR"
