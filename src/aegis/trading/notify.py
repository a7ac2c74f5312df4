"""Telegram notifications (Bot API ``sendMessage``, shared docs/protocols-trading.md §2) for
fills, safety triggers and price alerts, opt-in per user.

429 answers carry ``parameters.retry_after`` (and a ``Retry-After`` header): the client waits
that long and tries again (up to ``max_retries``). 400/401/403 are not retried: the message,
the token or the chat is wrong. The bot token is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import AegisError, InvalidRequest
from aegis.trading import tables
from aegis.trading.feed import EventFeed, Listener

log = logging.getLogger("aegis.trading.notify")
MAX_TEXT = 4096


class NotifyError(AegisError):
    status = 502
    code = "NOTIFY_FAILED"


class TelegramClient:
    def __init__(
        self,
        token: SecretStr,
        base_url: str = "https://api.telegram.org",
        *,
        http: httpx.AsyncClient | None = None,
        max_retries: int = 3,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._token = token
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=10.0)
        self._own = http is None
        self.max_retries = max_retries
        self._sleep = sleep
        self.retries = 0

    def __repr__(self) -> str:
        return "TelegramClient(<redacted>)"

    async def close(self) -> None:
        if self._own:
            await self._http.aclose()

    async def send(self, chat_id: str | int, text: str) -> list[int]:
        """Send ``text`` (split into ≤4096-character parts); returns the message ids."""
        ids = []
        for part in [text[i : i + MAX_TEXT] for i in range(0, len(text), MAX_TEXT)] or [""]:
            ids.append(await self._send_one(chat_id, part))
        return ids

    async def _send_one(self, chat_id: str | int, text: str) -> int:
        path = f"/bot{self._token.get_secret_value()}/sendMessage"
        for _ in range(self.max_retries + 1):
            try:
                resp = await self._http.post(path, json={"chat_id": chat_id, "text": text})
            except httpx.TransportError as exc:
                raise NotifyError(f"telegram unreachable: {type(exc).__name__}") from exc
            try:
                body: dict[str, Any] = resp.json()
            except ValueError:
                body = {}
            if resp.status_code == 200 and body.get("ok"):
                return int(body["result"]["message_id"])
            if resp.status_code == 429:
                wait = (body.get("parameters") or {}).get("retry_after")
                if wait is None:
                    wait = resp.headers.get("retry-after", "1")
                self.retries += 1
                await self._sleep(float(wait))
                continue
            raise NotifyError(
                f"telegram refused the message: {resp.status_code} {body.get('description', '')}"
            )
        raise NotifyError("telegram: still rate limited after retries")


def format_message(msg: dict[str, Any], name: Callable[[str], str]) -> str | None:
    kind = msg.get("type")
    if kind == "fill":
        side = "매수" if msg["side"] == "BUY" else "매도"
        text = (
            f"[체결] {name(msg['symbol'])} {side} {msg['quantity']:,}주 @{msg['price']:,}원"
            f" (수수료 {msg['commission']:,}원"
        )
        if msg["side"] == "SELL":
            text += f", 세금 {msg['tax']:,}원, 실현손익 {msg['realizedPnl']:+,}원"
        return text + ")"
    if kind == "safety":
        return f"[안전장치] {msg['kind']}: {msg['message']} (상태 {msg.get('state')})"
    if kind == "alert":
        return f"[알림] {name(msg['symbol'])} {msg['description']} (현재가 {msg['price']:,}원)"
    return None


class Notifier:
    """Forwards each opted-in user's fills, safety triggers and alerts to Telegram."""

    def __init__(
        self,
        db: AsyncEngine,
        feed: EventFeed,
        client: TelegramClient,
        name: Callable[[str], str] = lambda s: s,
    ) -> None:
        self.db = db
        self.feed = feed
        self.client = client
        self.name = name
        self.sent = 0
        self.failed = 0
        self._listener: Listener | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._listener = self.feed.listen(None)
        self._task = asyncio.create_task(self._run(), name="telegram-notifier")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            self.feed.close(self._listener)
        await self.client.close()

    async def _run(self) -> None:
        assert self._listener is not None
        while True:
            msg = await self._listener.queue.get()
            text = format_message(msg, self.name)
            if text is None:
                continue
            chat = await chat_of(self.db, int(msg["userId"]))
            if chat is None:
                continue
            target: str | int = int(chat) if chat.lstrip("-").isdigit() else chat
            try:
                await self.client.send(target, text)
                self.sent += 1
            except NotifyError as exc:
                self.failed += 1
                log.warning("telegram: %s", exc.message)


async def chat_of(db: AsyncEngine, user_id: int) -> str | None:
    async with db.connect() as conn:
        row = (
            await conn.execute(sa.select(tables.notify).where(tables.notify.c.user_id == user_id))
        ).first()
    return row.telegram_chat_id if row is not None and row.enabled else None


async def set_telegram(db: AsyncEngine, user_id: int, chat_id: str, enabled: bool) -> None:
    chat_id = chat_id.strip()
    if not chat_id or not (chat_id.lstrip("-").isdigit() or chat_id.startswith("@")):
        raise InvalidRequest("chatId is a number or @channelname")
    async with db.begin() as conn:
        await conn.execute(tables.notify.delete().where(tables.notify.c.user_id == user_id))
        await conn.execute(
            tables.notify.insert().values(
                user_id=user_id, telegram_chat_id=chat_id, enabled=enabled
            )
        )


async def get_telegram(db: AsyncEngine, user_id: int) -> dict[str, Any]:
    async with db.connect() as conn:
        row = (
            await conn.execute(sa.select(tables.notify).where(tables.notify.c.user_id == user_id))
        ).first()
    if row is None:
        return {"chatId": None, "enabled": False}
    return {"chatId": row.telegram_chat_id, "enabled": row.enabled}
