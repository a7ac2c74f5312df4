"""Kiwoom access token (au10001 ``POST /oauth2/token``), cached encrypted on disk."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from aegis.core.errors import SourceError
from aegis.core.timeutil import KST
from aegis.credentials.store import BrokerCredentials, CredentialStore
from aegis.sources.common.reconnect import FatalSourceError

log = logging.getLogger("aegis.sources.kiwoom")
MARGIN_S = 300.0
CONTENT_TYPE = "application/json;charset=UTF-8"  # as au10001 documents it (protocols.md §B.2)


class KiwoomAuth:
    def __init__(self, http: httpx.AsyncClient, creds: BrokerCredentials, store: CredentialStore,
                 *, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._http, self._creds, self._store, self._clock = http, creds, store, clock
        self._key_id = hashlib.sha256(creds.app_key.get_secret_value().encode()).hexdigest()[:16]
        self._lock = asyncio.Lock()
        self.token_requests = 0

    def __repr__(self) -> str:
        return "KiwoomAuth(<redacted>)"

    async def token(self) -> str:
        async with self._lock:
            cache = self._store.load_token("kiwoom")
            if (
                cache.get("key_id") == self._key_id
                and isinstance(cache.get("token"), str)
                and self._clock() < float(cache.get("expires_at", 0)) - MARGIN_S
            ):
                return str(cache["token"])
            self.token_requests += 1
            resp = await self._http.post("/oauth2/token", json={
                "grant_type": "client_credentials",
                "appkey": self._creds.app_key.get_secret_value(),
                "secretkey": self._creds.app_secret.get_secret_value(),
            }, headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
            try:
                body = resp.json()
            except ValueError:
                body = {}
            token = body.get("token") if isinstance(body, dict) else None
            if (
                resp.status_code != 200
                or body.get("return_code") != 0
                or not isinstance(token, str)
            ):
                code = body.get("return_code") if isinstance(body, dict) else None
                if resp.status_code in (401, 403) or code not in (None, 5):
                    raise FatalSourceError(f"Kiwoom rejected the app key/secret (code {code})")
                raise SourceError(f"Kiwoom token request failed (HTTP {resp.status_code})")
            expires = self._clock() + 86_400.0
            text = str(body.get("expires_dt", ""))
            with contextlib.suppress(ValueError):
                expires = datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=KST).timestamp()
            self._store.save_token("kiwoom", {"key_id": self._key_id, "token": token,
                                              "expires_at": expires})  # fmt: skip
            log.info("kiwoom: new access token issued")
            return token

    def invalidate(self) -> None:
        self._store.save_token("kiwoom", {})
