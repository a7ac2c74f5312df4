"""Response security headers and the origin rule for browsers.

Every HTTP response carries a Content-Security-Policy, ``X-Content-Type-Options: nosniff``,
``X-Frame-Options: DENY`` (and ``frame-ancestors 'none'``) and ``Referrer-Policy``. The policy
allows what the built dashboard needs and nothing else: its own scripts plus the hashes of the
inline scripts of its ``index.html`` (computed from the built file, so a rebuilt page keeps
working), its own styles, images and connections (WebSocket included). The interactive API docs
(/docs, /redoc) load their assets from the CDN FastAPI uses, and get a policy that allows it.

Browsers are held to the same origin unless ``AEGIS_ALLOWED_ORIGINS`` names others: a WebSocket
handshake from a foreign ``Origin`` is refused (403) and CORS grants only the listed origins.
Clients that send no ``Origin`` (CLI tools, servers) are not browsers and are not affected.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_PATHS = ("/docs", "/redoc")


def inline_script_hashes(index_html: Path | None) -> list[str]:
    if index_html is None or not index_html.is_file():
        return []
    text = index_html.read_text(encoding="utf-8")
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.findall(text)
    ]


def app_policy(script_hashes: Sequence[str]) -> str:
    scripts = " ".join(["'self'", *script_hashes])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "  # chart and component inline styles
        "img-src 'self' data: blob:; font-src 'self' data:; "
        "connect-src 'self'; "  # 'self' covers ws:/wss: to this host (CSP 3)
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


DOCS_POLICY = (
    "default-src 'self'; "
    f"script-src 'self' 'unsafe-inline' {_DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {_DOCS_CDN}; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


_FIXED = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
_NAMES = frozenset({b"content-security-policy", *(name for name, _ in _FIXED)})


def _raw(policy: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-security-policy", policy.encode("latin-1")), *_FIXED]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, script_hashes: Sequence[str] = ()) -> None:
        self.app = app
        self.policy = app_policy(script_hashes)
        # the raw header lists, built once (every response carries them)
        self.headers = _raw(self.policy)
        self.docs_headers = _raw(DOCS_POLICY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        added = self.docs_headers if path.startswith(DOCS_PATHS) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # set, not added: a response's own value for one of these names is replaced
                own: list[tuple[bytes, bytes]] = message.get("headers", [])
                message["headers"] = [h for h in own if h[0].lower() not in _NAMES] + added
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Same origin (the ``Origin``'s host is the ``Host`` the client asked for), a listed
    origin, or any when ``*`` is listed. No ``Origin`` at all: not a browser, allowed."""
    if origin is None:
        return True
    if "*" in allowed or origin.rstrip("/") in {a.rstrip("/") for a in allowed}:
        return True
    if host is None:
        return False
    return origin.lower() in (f"http://{host.lower()}", f"https://{host.lower()}")
