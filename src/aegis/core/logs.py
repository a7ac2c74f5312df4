"""Logging set-up: plain lines for people, JSON lines (``AEGIS_LOG_FORMAT=json``) for log
collectors. Each record carries the id of the HTTP request it was logged in, if any."""

from __future__ import annotations

import contextvars
import logging
from datetime import UTC, datetime

import orjson

# Set by the request-id middleware for the duration of one request or WebSocket connection.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", "-")
        if rid != "-":
            doc["requestId"] = rid
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc).decode()


PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def setup_logging(level: str, fmt: str = "plain") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_http_clients()


def quiet_http_clients() -> None:
    """httpx logs every request's full URL at INFO (KIS inquiries carry the account number
    in their query string) and websockets every frame at DEBUG (KIS subscriptions carry the
    approval key): those lines never reach the logs."""
    for name in ("httpx", "httpcore", "websockets"):
        logging.getLogger(name).setLevel(logging.WARNING)
