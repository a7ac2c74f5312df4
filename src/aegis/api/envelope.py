"""The response envelope, serialized once with orjson (no per-item validation on hot paths;
the pydantic models in ``schemas`` document the same shapes in OpenAPI)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from aegis.core.logs import request_id


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def ok(
    data: Any, message: str = "성공", meta: dict[str, Any] | None = None, status: int = 200
) -> JSONBytes:
    """The success envelope; its ``status`` is the response's HTTP status (201 for a creation)."""
    body: dict[str, Any] = {"status": status, "message": message, "data": data}
    if meta is not None:
        body["meta"] = meta
    return JSONBytes(body, status_code=status)


def error_body(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details:
        body["details"] = details
    rid = request_id.get()
    if rid is not None:
        body["requestId"] = rid  # the same id as the response header and the log lines
    return body
