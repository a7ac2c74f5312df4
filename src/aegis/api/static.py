"""The built web dashboard (web/dist) at /, with client-side routes falling back to index.html."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response

from aegis.api.envelope import JSONBytes, error_body


def find_dist() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent / "web" / "dist"
        if (cand / "index.html").is_file():
            return cand
    return None


def mount(app: FastAPI, dist: Path | None) -> None:
    if dist is not None and not (dist / "index.html").is_file():
        dist = None

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(request: Request, path: str) -> Response:
        if path.startswith(("api/", "ws/")):
            raise HTTPException(404, f"no route {request.url.path}")
        if dist is None:
            return JSONBytes(
                error_body(404, "NOT_FOUND", "web dashboard not built: run `make run`"),
                status_code=404,
            )
        if "\x00" in path:  # no file has a NUL in its name; the OS would refuse to look
            raise HTTPException(404, "no such file")
        try:
            target = (dist / path).resolve()
            found = bool(path) and target.is_file() and dist in target.parents
        except (OSError, ValueError):  # a name too long or otherwise impossible
            found = False
        if found:
            headers = (
                {"Cache-Control": "public, max-age=31536000, immutable"}
                if "/assets/" in target.as_posix()
                else None
            )
            return FileResponse(target, headers=headers)
        return FileResponse(dist / "index.html", headers={"Cache-Control": "no-cache"})
