"""The OpenAPI document as the API behaves: validation errors are 400 (never FastAPI's 422),
operations that need the runtime may answer 503, and every error has the envelope's schema."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from aegis.api.schemas import STREAM_MESSAGES

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_UNAVAILABLE = "Starting up, or the stream hub is unavailable"


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        has_error_schema = "ErrorBody" in doc.get("components", {}).get("schemas", {})
        for path, item in doc.get("paths", {}).items():
            for op in item.values():
                responses: dict[str, Any] = op.get("responses", {})
                responses.pop("422", None)
                if not has_error_schema:
                    continue
                if op.get("parameters") and "400" not in responses:
                    responses["400"] = _error("Invalid request")
                if path != "/healthz" and "503" not in responses:
                    responses["503"] = _error(_UNAVAILABLE)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        # the streaming messages, so that clients generate their types from here too
        _, streams = models_json_schema(
            [(m, "serialization") for m in STREAM_MESSAGES],
            by_alias=True,
            ref_template="#/components/schemas/{model}",
        )
        for name, schema in streams.get("$defs", {}).items():
            schemas.setdefault(name, schema)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
