"""Trading streams: ``/ws/portfolio`` (the caller's portfolio as prices move, at most ~4/s,
only when it changed) and ``/ws/events`` (orders, fills, safety triggers, reconciliation).
Browsers cannot set headers on a WebSocket: the access token comes as ``?token=`` (or an
``Authorization: Bearer`` header)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from aegis.accounts.models import User
from aegis.core.errors import AegisError, StreamUnavailable, Unauthorized
from aegis.services.runtime import Runtime
from aegis.trading.service import LIVE, TradingService

router = APIRouter()
log = logging.getLogger(__name__)
PORTFOLIO_INTERVAL = 0.25


async def _user(ws: WebSocket) -> tuple[User, TradingService] | None:
    rt: Runtime | None = getattr(ws.app.state, "runtime", None)
    await ws.accept()
    if rt is None or rt.trading is None or rt.accounts is None:
        await ws.close(StreamUnavailable.ws_close_code, "trading unavailable")
        return None
    token = ws.query_params.get("token") or ""
    header = ws.headers.get("authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:]
    try:
        if not token:
            raise Unauthorized("login required")
        user, _ = await rt.accounts.authenticate(token)
    except AegisError as exc:
        await ws.close(Unauthorized.ws_close_code, exc.message[:100])
        return None
    return user, rt.trading


async def _until_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return


@router.websocket("/ws/portfolio")
async def ws_portfolio(ws: WebSocket) -> None:
    got = await _user(ws)
    if got is None:
        return
    user, trading = got
    live = ws.query_params.get("account") == "live" and user.is_admin
    acc = trading.account_of_user(user.id, LIVE) if live else await trading.account_for(user.id)
    if acc is None:
        await ws.close(4404, "no live account")
        return
    reader = asyncio.create_task(_until_closed(ws))
    last = b""
    try:
        while not reader.done():
            payload = orjson.dumps({"type": "portfolio", **trading.portfolio(acc)})
            if payload != last:
                await ws.send_text(payload.decode())
                last = payload
            await asyncio.wait({reader}, timeout=PORTFOLIO_INTERVAL)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        reader.cancel()


@router.websocket("/ws/events")
async def ws_events(ws: WebSocket) -> None:
    got = await _user(ws)
    if got is None:
        return
    user, trading = got
    listener = trading.feed.listen(user.id)
    reader = asyncio.create_task(_until_closed(ws))
    try:
        await ws.send_text(orjson.dumps({"type": "hello", "userId": user.id}).decode())
        while not reader.done():
            getter = asyncio.create_task(listener.queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            await ws.send_text(orjson.dumps(getter.result()).decode())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        trading.feed.close(listener)
        reader.cancel()
