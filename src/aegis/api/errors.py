"""The one place where exceptions become HTTP responses (and WebSocket close codes)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aegis.api.envelope import JSONBytes, error_body
from aegis.core.errors import AegisError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "INVALID_REQUEST",
    409: "ALREADY_EXISTS",
    429: "TOO_MANY_REQUESTS",
    503: "STREAM_UNAVAILABLE",
}


def ws_close_code(exc: BaseException) -> int:
    return exc.ws_close_code if isinstance(exc, AegisError) else 1011


def install(app: FastAPI) -> None:
    @app.exception_handler(AegisError)
    async def aegis_error(_: Request, exc: AegisError) -> JSONBytes:
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        return JSONBytes(
            error_body(exc.status, exc.code, exc.message, exc.details),
            status_code=exc.status,
            headers=getattr(exc, "headers", None),  # e.g. Retry-After, WWW-Authenticate
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONBytes:
        errors = exc.errors()
        missing = [e for e in errors if e.get("type") == "missing"]
        parts = []
        for e in errors:
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body"))
            parts.append(f"{where}: {e.get('msg')}")
        code = "MISSING_FIELD" if missing else "INVALID_REQUEST"
        return JSONBytes(
            error_body(400, code, "; ".join(parts) or "invalid request"), status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONBytes:
        code = _HTTP_CODES.get(
            exc.status_code, "INVALID_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR"
        )
        return JSONBytes(
            error_body(exc.status_code, code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONBytes:
        log.exception("unhandled error")
        return JSONBytes(error_body(500, "INTERNAL_ERROR", "internal error"), status_code=500)

    @app.exception_handler(OperationalError)
    async def database_error(_: Request, exc: OperationalError) -> JSONBytes:
        # SQLite's one writer stayed busy past busy_timeout: a retryable 503 the client can
        # explain, not a bare "internal error"
        if "database is locked" in str(exc.orig):
            log.warning("application database busy: %s", exc.orig)
            message = "데이터베이스가 잠시 바쁩니다. 잠시 후 다시 시도하세요."
            return JSONBytes(
                error_body(503, "DATABASE_BUSY", message),
                status_code=503,
                headers={"Retry-After": "1"},
            )
        log.exception("database error")
        return JSONBytes(error_body(500, "INTERNAL_ERROR", "internal error"), status_code=500)
