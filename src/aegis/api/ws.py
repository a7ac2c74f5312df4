"""WebSocket endpoints: thin I/O around ``StreamSession``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from aegis.accounts.models import User
from aegis.api.ratelimit import websocket_refused
from aegis.api.requestid import new_request_id
from aegis.api.security import origin_allowed
from aegis.api.serving import FRAMES_EXTENSION, GuardedWebSocketProtocol
from aegis.core.errors import AegisError, InvalidToken, NotFound, SlowConsumer, StreamUnavailable
from aegis.core.logs import request_id
from aegis.services.clients import ClientChannel
from aegis.services.runtime import Runtime
from aegis.services.sessions import StreamSession
from aegis.services.stream import Subscriber

router = APIRouter()
CLOSE_WAIT_SECONDS = 2.0
MAX_REASON_BYTES = 123  # RFC 6455 §5.5: a close frame's payload is at most 125 bytes
log = logging.getLogger(__name__)


def close_reason(text: str) -> str:
    """``text`` cut to fit a close frame, never inside a UTF-8 sequence."""
    raw = text.encode()
    if len(raw) <= MAX_REASON_BYTES:
        return text
    return raw[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    # the close frame may queue behind what a non-reading client has not taken: don't wait long
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code, close_reason(reason)), CLOSE_WAIT_SECONDS)


async def _serve(ws: WebSocket, initial: list[str] | None) -> None:
    rt: Runtime | None = getattr(ws.app.state, "runtime", None)
    if rt is not None and not origin_allowed(
        ws.headers.get("origin"), ws.headers.get("host"), rt.settings.allowed_origins
    ):
        # refused before the handshake completes: the browser sees 403
        await ws.close(1008, "origin not allowed")
        return
    await ws.accept()
    if rt is None or rt.hub is None:
        await ws.close(StreamUnavailable.ws_close_code, "stream unavailable")
        return
    settings = rt.settings
    batch = ws.query_params.get("batch") in ("1", "true")
    channel = ClientChannel(
        settings.ws_queue_size, settings.ws_drop_after_seconds, settings.ws_control_queue_size
    )
    writer: asyncio.Task[None] | None = None

    hub = rt.hub

    def on_slow() -> None:
        # called from inside the broadcast: stop fanning out to this client right after it
        if writer is not None and not writer.done():
            writer.cancel()
            asyncio.get_running_loop().call_soon(hub.remove, sub)

    token = ws.query_params.get("token")
    user = None
    if token is not None:
        try:
            user = await _authenticate(rt, token)
        except AegisError as exc:
            await _close(ws, exc.ws_close_code, exc.message)
            return
    sub = Subscriber(channel, on_slow)
    hub.add(sub)
    session = StreamSession(
        hub,
        sub,
        max_symbols=_max_symbols(rt, user),
        max_bytes=settings.ws_max_message_bytes,
        rate=settings.ws_messages_per_second,
        burst=settings.ws_message_burst,
    )
    writer = asyncio.create_task(_write(ws, channel, batch, settings.ws_batch_window_seconds))
    hub.heartbeat(settings.ws_heartbeat_seconds)
    try:
        if initial:
            inst = hub.market.lookup(initial[0])
            if inst is None:
                await _close(ws, NotFound.ws_close_code, f"unknown symbol {initial[0]}")
                return
            hub.subscribe_ticks(sub, [inst.symbol])
        receiver = asyncio.create_task(_read(ws, session, rt))
        done, _ = await asyncio.wait({writer, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if writer in done and channel.slow:
            log.warning("closing slow websocket client (%d conflated)", channel.conflated_total)
            await _close(ws, SlowConsumer.ws_close_code, "slow consumer")
        elif receiver in done and isinstance(failure := receiver.exception(), AegisError):
            log.warning("closing websocket client: %s", failure.message)
            await _close(ws, failure.ws_close_code, failure.message)
        receiver.cancel()
    finally:
        writer.cancel()
        hub.remove(sub)


async def _authenticate(rt: Runtime, token: object) -> User:
    if not isinstance(token, str) or not token or rt.accounts is None:
        raise InvalidToken("auth needs a token: the accessToken from POST /api/v1/users/login")
    user, _ = await rt.accounts.authenticate(token)
    return user


def _max_symbols(rt: Runtime, user: User | None) -> int:
    # anonymous clients keep public market data, with a smaller symbol budget
    s = rt.settings
    return s.ws_max_symbols if user else min(s.ws_anonymous_max_symbols, s.ws_max_symbols)


def _auth_token(text: str) -> tuple[bool, object]:
    """(True, token) for an ``{"action": "auth", "token": …}`` message."""
    if '"auth"' not in text:  # cheap test first: almost every message is something else
        return False, None
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False, None
    if isinstance(msg, dict) and msg.get("action") == "auth":
        return True, msg.get("token")
    return False, None


async def _read(ws: WebSocket, session: StreamSession, rt: Runtime) -> None:
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            text = msg.get("text")
            if text is None:
                data = msg.get("bytes") or b""
                try:
                    text = data.decode()
                except UnicodeDecodeError:
                    text = "\x00"  # answered as "not JSON"
            is_auth, token = _auth_token(text)
            if is_auth:
                if not session.admit():  # rate-limited like every other message
                    continue
                try:
                    user = await _authenticate(rt, token)
                except AegisError as exc:
                    await _close(ws, exc.ws_close_code, exc.message)
                    return
                session.max_symbols = _max_symbols(rt, user)
                session.sub.channel.control(
                    orjson.dumps(
                        {
                            "type": "authenticated",
                            "userId": user.id,
                            "maxSymbols": session.max_symbols,
                        }
                    )
                )
                continue
            await session.handle_text(text)  # TooManyMessages ends the connection
    except WebSocketDisconnect:
        return


async def _write(ws: WebSocket, channel: ClientChannel, batch: bool, window: float) -> None:
    frames = ws.scope.get("extensions", {}).get(FRAMES_EXTENSION)
    if isinstance(frames, GuardedWebSocketProtocol) and frames.frames_direct:
        if batch:  # the hub flushes each batch's messages itself, as one frame
            channel.window = window
            channel.direct = frames.try_send_text_frame
        await _write_frames(frames, channel, batch, window)
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while not channel.closed:
            msgs = await channel.drain()
            if not msgs:
                return
            if batch:
                await ws.send_text(
                    msgs[0].decode() if len(msgs) == 1 else "[" + b",".join(msgs).decode() + "]"
                )
                del msgs  # not held while waiting (see _write_frames)
                # gather what arrives in the next moment into one frame: fewer, larger sends
                await asyncio.sleep(window)
            else:
                for m in msgs:
                    await ws.send_text(m.decode())
                del m, msgs


async def _write_frames(
    frames: GuardedWebSocketProtocol, channel: ClientChannel, batch: bool, window: float
) -> None:
    """The same frames as ``_write``, written straight to the connection (uvicorn under
    ``aegis serve``, no compression): the messages are UTF-8 JSON already, so a flush is one
    write of ready frames, without an ASGI message or a text round trip per frame."""
    while not channel.closed:
        msgs = await channel.drain()
        if not msgs:
            return
        channel.busy = True  # the hub's direct flushes wait for these
        try:
            sent = await frames.send_text_frames(
                [msgs[0] if len(msgs) == 1 else b"[" + b",".join(msgs) + b"]"] if batch else msgs
            )
        finally:
            channel.busy = False
        # what was sent is not held while the writer waits for more: with the hub flushing the
        # stream itself, the writer's last messages were for long the "subscribed" reply, and an
        # orjson result keeps its 4 KB buffer (≈ 4 KB per connection, docs/benchmarks.md)
        del msgs
        if not sent:
            return
        if batch:
            await asyncio.sleep(window)  # gather what arrives in the next moment


@router.websocket("/ws/stocks")
async def ws_stocks(ws: WebSocket) -> None:
    await _serve(ws, None)


@router.websocket("/ws/realtime/{code}")
async def ws_realtime(ws: WebSocket, code: str) -> None:
    await _serve(ws, [code])


REALTIME_PREFIX = "/ws/realtime/"


def _stream_route(path: str) -> tuple[bool, list[str] | None]:
    """(True, initial symbols) when ``path`` is one the two routes above serve, as the router
    matches them (``{code}``: one path segment, not empty)."""
    if path == "/ws/stocks":
        return True, None
    if path.startswith(REALTIME_PREFIX):
        code = path[len(REALTIME_PREFIX) :]
        if code and "/" not in code:
            return True, [code]
    return False, None


class StreamFastPath:
    """The market stream's WebSocket connections straight to ``_serve``, around the middleware
    stack and the router.

    A WebSocket connection keeps its whole ASGI call chain alive for as long as it is open: every
    middleware's coroutine frame and closures, the router's, FastAPI's exit stacks (each with a
    deque). For the stream that was ≈ 14 KB of the ≈ 45 KB a connection cost (docs/benchmarks.md,
    fanout, session 7), at 10,000 clients 140 MB. Of the middlewares only two act on a WebSocket
    scope: the request id (for the connection's log lines) and the per-IP connection rate limit;
    this layer applies both, as they do, and passes every other scope (and other WebSocket paths)
    on unchanged. An ``AegisError`` escaping the endpoint is logged as the app's handler does for a
    WebSocket (nothing can be answered on it); anything else reaches uvicorn, as before."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            matched, initial = _stream_route(get_route_path(scope))
            if matched:
                await _serve_scope(scope, receive, send, initial)
                return
        await self.app(scope, receive, send)


async def _serve_scope(
    scope: Scope, receive: Receive, send: Send, initial: list[str] | None
) -> None:
    token = request_id.set(new_request_id(scope))
    try:
        if await websocket_refused(scope, receive, send):
            return
        await _serve(WebSocket(scope, receive, send), initial)
    except AegisError as exc:
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message)
    finally:
        request_id.reset(token)
