"""Unknown query parameters are refused, not ignored: ``/quotes?codes=005930`` (the parameter
is ``symbols``) answered every quote as if nothing was asked, and a misspelt ``limt=10`` the
default page. A route's known names are those its signature and dependencies declare (what the
OpenAPI document lists), read once per route."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel
from starlette.routing import BaseRoute

from aegis.core.errors import InvalidRequest

_known: dict[int, frozenset[str]] = {}


def _names(dependant: Dependant) -> frozenset[str]:
    """The route's query parameters and those of every dependency it has (a parameter model's
    fields by their aliases)."""
    out: set[str] = set()
    todo = [dependant]
    while todo:
        d = todo.pop()
        for field in d.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                out.update(f.alias or name for name, f in model.model_fields.items())
            else:
                out.add(field.alias)
        todo.extend(d.dependencies)
    return frozenset(out)


def known_names(route: BaseRoute) -> frozenset[str] | None:
    """The query parameter names ``route`` declares, or None for a route without a dependant
    (mounted apps, static files: not checked)."""
    dependant: Dependant | None = getattr(route, "dependant", None)
    if dependant is None:
        return None
    names = _known.get(id(route))
    if names is None:
        names = _known[id(route)] = _names(dependant)
    return names


async def refuse_unknown_query(request: Request) -> None:
    """A router dependency: 400 ``INVALID_REQUEST`` naming the unknown parameters and the
    route's own."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    known = known_names(route) if route is not None else None
    if known is None:
        return
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise InvalidRequest(
            f"unknown query parameter {', '.join(unknown)}: this endpoint takes {allowed}",
            details={"unknown": unknown, "allowed": sorted(known)},
        )
