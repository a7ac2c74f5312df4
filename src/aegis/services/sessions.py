"""A streaming client's conversation, free of transport: parse a client message, apply it to the
hub, answer. Errors become error messages; the session and its other subscriptions stay.

Inbound messages are rate-limited (a token bucket: ``rate`` per second, ``burst`` at once).
Messages past the limit are dropped unread with one pending "too many messages" reply; a client
that sends ``burst`` more of them without pause is a flood and ``TooManyMessages`` ends it (the
transport closes with 1008). Replies go through the channel's bounded control queue, so a client
that sends and never reads costs a fixed amount of memory and little time."""

from __future__ import annotations

import time
from typing import Any

import orjson

from aegis.core.errors import AegisError, InvalidRequest, TooManyMessages
from aegis.domain.intervals import parse_interval
from aegis.services.stream import StreamHub, Subscriber

ACTIONS = ("subscribe", "unsubscribe", "ping", "pong")
CHANNELS = ("ticks", "candles", "quotes")


def error_message(exc: AegisError) -> bytes:
    return orjson.dumps({"type": "error", "code": exc.code, "message": exc.message})


class StreamSession:
    def __init__(
        self,
        hub: StreamHub,
        sub: Subscriber,
        *,
        max_symbols: int,
        max_bytes: int,
        rate: float = 20.0,
        burst: int = 100,
    ) -> None:
        self.hub = hub
        self.sub = sub
        self.max_symbols = max_symbols
        self.max_bytes = max_bytes
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = time.monotonic()
        self.throttled = 0  # messages dropped for the rate limit, in all
        self._over = 0  # … since the last one that was allowed

    async def handle_text(self, text: str) -> None:
        """Raises ``TooManyMessages`` when the client floods: the caller closes the transport."""
        if not self.admit():
            return
        try:
            await self._handle(text)
        except AegisError as exc:
            self.sub.channel.control(error_message(exc))

    def admit(self) -> bool:
        """Count one inbound message against the rate limit (messages the transport answers
        itself, such as ``auth``, too): False when it is dropped, with one pending "too many
        messages" reply; raises ``TooManyMessages`` when the client floods."""
        if self._allow():
            self._over = 0
            return True
        self.throttled += 1
        self._over += 1
        if self._over > self.burst:
            raise TooManyMessages(f"more than {self.rate:g} messages per second: connection closed")
        exc = TooManyMessages(f"more than {self.rate:g} messages per second: message ignored")
        self.sub.channel.control(error_message(exc), key=exc.code)
        return False

    def _allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    async def _handle(self, text: str) -> None:
        if len(text.encode()) > self.max_bytes:
            raise InvalidRequest(f"message larger than {self.max_bytes} bytes")
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest("message is not JSON") from exc
        if not isinstance(msg, dict):
            raise InvalidRequest('message must be a JSON object with an "action"')
        action = msg.get("action")
        if action not in ACTIONS:
            raise InvalidRequest(f"unknown action {action!r}; allowed: {', '.join(ACTIONS)}")
        if action == "ping":
            self.sub.channel.control(b'{"type":"pong"}', key="pong")
            return
        if action == "pong":
            return
        await self._subscription(action == "subscribe", msg)

    async def _subscription(self, on: bool, msg: dict[str, Any]) -> None:
        channel = msg.get("channel", "ticks")
        if channel not in CHANNELS:
            raise InvalidRequest(f"unknown channel {channel!r}; allowed: {', '.join(CHANNELS)}")
        verb = "subscribed" if on else "unsubscribed"
        if channel == "quotes":
            self.hub.subscribe_quotes(self.sub, on)
            self.sub.channel.control(orjson.dumps({"type": verb, "channel": "quotes"}))
            return
        symbols = self._symbols(msg)
        if channel == "ticks":
            if on:
                self._check_budget(symbols, None)
                self.hub.subscribe_ticks(self.sub, symbols)
            else:
                self.hub.unsubscribe_ticks(self.sub, symbols)
            self.sub.channel.control(
                orjson.dumps({"type": verb, "channel": "ticks", "symbols": symbols})
            )
            return
        iv = parse_interval(str(msg.get("interval", "1m")))
        if on:
            self._check_budget(symbols, iv.name)
            await self.hub.subscribe_candles(self.sub, symbols, iv)
        else:
            self.hub.unsubscribe_candles(self.sub, symbols, iv)
        self.sub.channel.control(
            orjson.dumps(
                {"type": verb, "channel": "candles", "interval": iv.name, "symbols": symbols}
            )
        )

    def _symbols(self, msg: dict[str, Any]) -> list[str]:
        raw = msg.get("symbols")
        if raw is None:
            raise InvalidRequest('"symbols" is required: a list of codes')
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            raise InvalidRequest('"symbols" must be a list of strings')
        # as REST looks codes up (lower case too); counted once resolved: ``00104k`` and
        # ``00104K`` are one symbol (the message size bounds the list)
        symbols = self.hub.market.resolve(raw)
        if len(symbols) > self.max_symbols:
            raise InvalidRequest(f"at most {self.max_symbols} symbols per connection")
        return symbols

    def _check_budget(self, symbols: list[str], interval: str | None) -> None:
        now = self.sub.symbols | {s for s, _ in self.sub.candles}
        if len(now | set(symbols)) > self.max_symbols:
            raise InvalidRequest(
                f"at most {self.max_symbols} symbols per connection ({len(now)} subscribed already)"
            )
