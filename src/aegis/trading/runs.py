"""Which strategies run, kept in the app DB (``trading_strategy_runs``) so that a restart
brings them back: a run started live or on paper stays running until a user stops it.

A run's row holds what it was started with (strategy, parameters, symbols, interval) and its
state. What it has done is not stored here: its orders, fills and positions are in the account's
event log, so a resumed runner takes them from there and re-executes nothing (see
``StrategyRunner.start``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from aegis.core.errors import AegisError, NotFound
from aegis.core.timeutil import now_us
from aegis.trading import tables
from aegis.trading.book import Account
from aegis.trading.runner import StrategyRunner
from aegis.trading.service import TradingService
from aegis.trading.strategies.loader import load

log = logging.getLogger(__name__)

RUNNING = "running"
STOPPED = "stopped"
FAILED = "failed"  # could not be resumed (strategy file gone, parameters no longer valid)


class StrategyRuns:
    def __init__(self, service: TradingService, strategies_dir: Path | None = None) -> None:
        self.service = service
        self.strategies_dir = strategies_dir
        self.db = service.db

    async def start(
        self,
        acc: Account,
        strategy: str,
        symbols: list[str],
        interval: str = "1m",
        params: dict[str, Any] | None = None,
    ) -> StrategyRunner:
        """Validate, start, then store: a refused start leaves no row."""
        params = dict(params or {})
        runner = StrategyRunner(
            self.service, acc, load(strategy, self.strategies_dir, **params), symbols, interval
        )
        started_at = now_us()
        runner.start(started_at=started_at)
        try:
            async with self.db.begin() as conn:
                res = await conn.execute(
                    tables.strategy_runs.insert().values(
                        account_id=acc.account_id,
                        strategy=strategy,
                        params=orjson.dumps(params).decode(),
                        symbols=orjson.dumps(runner.symbols).decode(),
                        interval=interval,
                        state=RUNNING,
                        started_at=started_at,
                    )
                )
        except Exception:
            await runner.stop()
            raise
        pk = res.inserted_primary_key
        assert pk is not None
        runner.runner_id = int(pk[0])
        self.service.runners[runner.runner_id] = runner
        return runner

    async def stop(self, acc: Account, runner_id: int) -> StrategyRunner:
        runner = self.service.runners.get(runner_id)
        if not isinstance(runner, StrategyRunner) or runner.account is not acc:
            raise NotFound(f"no running strategy {runner_id}")
        await self._mark(runner_id, STOPPED, None)
        await runner.stop()
        del self.service.runners[runner_id]
        return runner

    async def resume(self) -> list[StrategyRunner]:
        """After a restart (the service has rebuilt its accounts): every run still marked
        running starts again with its stored id; one that cannot is marked failed."""
        q = (
            sa.select(tables.strategy_runs)
            .where(tables.strategy_runs.c.state == RUNNING)
            .order_by(tables.strategy_runs.c.id)
        )
        async with self.db.connect() as conn:
            rows = (await conn.execute(q)).all()
        resumed: list[StrategyRunner] = []
        for r in rows:
            acc = self.service.accounts.get(r.account_id)
            try:
                if acc is None:
                    raise NotFound(f"account {r.account_id} is gone")
                strategy = load(r.strategy, self.strategies_dir, **orjson.loads(r.params))
                runner = StrategyRunner(
                    self.service,
                    acc,
                    strategy,
                    orjson.loads(r.symbols),
                    r.interval,
                    runner_id=r.id,
                )
                runner.start(resumed_from=acc, started_at=r.started_at)
            except AegisError as exc:
                log.warning("strategy run %d (%s) not resumed: %s", r.id, r.strategy, exc.message)
                await self._mark(r.id, FAILED, exc.message)
                continue
            self.service.runners[runner.runner_id] = runner
            resumed.append(runner)
        return resumed

    async def _mark(self, run_id: int, state: str, error: str | None) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                tables.strategy_runs.update()
                .where(tables.strategy_runs.c.id == run_id)
                .values(state=state, error=error, stopped_at=now_us())
            )
