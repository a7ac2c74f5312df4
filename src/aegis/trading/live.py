"""A live KIS account at work: its broker, the fill-notice stream feeding fills into the
service, and reconciliation with the broker's balance at start, after every reconnect of the
notice stream, and every few minutes. A mismatch halts the account (see
``TradingService.reconcile``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from aegis.core.errors import AegisError
from aegis.credentials.store import BrokerCredentials, CredentialStore
from aegis.sources.kis.auth import KisAuth
from aegis.sources.kis.calls import kis_hosts
from aegis.trading.book import Account
from aegis.trading.brokers.kis import (
    FillNotice,
    KisAccount,
    KisBroker,
    KisNoticeStream,
    KisTrading,
)
from aegis.trading.service import TradingService

log = logging.getLogger("aegis.trading.live")


def broker_account_id(store: CredentialStore, account: KisAccount) -> str:
    """Which KIS account the books are of, without the account number in the event log."""
    return store.fingerprint("kis-account", account.cano + account.product)


class LiveAccount:
    def __init__(
        self,
        service: TradingService,
        account: Account,
        creds: BrokerCredentials,
        store: CredentialStore,
        kis_account: KisAccount,
        hts_id: str,
        *,
        rest_url: str | None = None,
        ws_url: str | None = None,
        reconcile_seconds: float = 180.0,
        timeout: float = 5.0,
    ) -> None:
        self.service = service
        self.account = account
        rest_url, ws_url = kis_hosts(creds.paper, rest_url, ws_url)
        self.http = httpx.AsyncClient(base_url=rest_url, timeout=httpx.Timeout(timeout))
        # the app key's one token, shared with market data on the same key (``KisAuth``)
        self.auth = KisAuth(self.http, creds, store)
        self.client = KisTrading(self.http, creds, self.auth, kis_account)
        self.broker_account = broker_account_id(store, kis_account)
        self.broker = KisBroker(self.client, clock=service.wall)
        self.stream = KisNoticeStream(
            ws_url,
            self.auth,
            hts_id,
            creds.paper,
            self.on_notice,
            self.reconcile,
        )
        self.reconcile_seconds = reconcile_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self.last_result: dict[str, object] | None = None

    async def start(self, *, switched: bool = False) -> None:
        """``switched``: another broker account than the books' (when they do not say
        which, ``LiveConnections.connect`` knows)."""
        self.service.brokers[self.account.account_id] = self.broker
        acc = self.account
        if not acc.synced or switched or acc.broker_account not in (None, self.broker_account):
            # first connection, or another account: the books start from its balance
            await self.service.adopt_balance(acc, await self.client.balance(), self.broker_account)
        await self.reconcile()
        self._tasks.append(asyncio.create_task(self.stream.run(), name="kis-notices"))
        self._tasks.append(asyncio.create_task(self._periodic(), name="kis-reconcile"))

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        if self.service.brokers.get(self.account.account_id) is self.broker:
            del self.service.brokers[self.account.account_id]
        await self.http.aclose()

    async def reconcile(self) -> None:
        try:
            self.last_result = await self.service.reconcile(self.account, self.client.balance)
        except Exception as exc:
            # an AegisError's message says what (no account number); others: their type only
            text = exc.message if isinstance(exc, AegisError) else type(exc).__name__
            log.warning("reconciliation failed: %s", text)

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_seconds)
            await self.reconcile()

    async def on_notice(self, n: FillNotice) -> None:
        if not n.is_fill or n.rejected or n.quantity <= 0:
            return  # acceptance notices: the REST answer (or reconciliation) is authoritative
        try:
            await self.service.sync_order(self.account, f"{n.orgno}:{n.odno}")
        except Exception as exc:
            # the next notice, reconnect or periodic reconciliation books it
            log.warning("fill notice for %s not synced: %s", n.odno, type(exc).__name__)
