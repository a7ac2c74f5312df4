"""``aegis sources``, ``aegis credentials set …`` and ``aegis backfill``."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

import httpx
import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aegis.core.config import Settings
from aegis.core.errors import AegisError
from aegis.core.timeutil import kst_day, now_us
from aegis.credentials.store import BROKERS, BrokerCredentials, CredentialStore, resolve
from aegis.domain.sources import BACKFILL

console = Console()
sources_app = typer.Typer(help="시세 소스 상태 (source state)", invoke_without_command=True)
credentials_app = typer.Typer(help="브로커 키 관리 (broker keys, encrypted)",
                              no_args_is_help=True)  # fmt: skip

_STATE_KO = {"connecting": "연결 중", "live": "수신 중", "backing_off": "재연결 대기",
             "failed": "실패", "stopped": "중지"}  # fmt: skip


@sources_app.callback()
def sources(ctx: typer.Context) -> None:
    """각 소스의 상태, 구독 수, 마지막 수신 시각, 재연결 횟수."""
    if ctx.invoked_subcommand is not None:
        return
    settings = Settings()
    rows = _live_status(settings)
    table = Table(title="AEGIS 시세 소스")
    for col in ("소스", "상태", "구독", "마지막 수신", "재연결", "오류/키"):
        table.add_column(col)
    if rows is None:
        store = CredentialStore.from_settings(settings)
        for name in settings.sources:
            keyed = name == "sim" or name == "binance" or resolve(settings, name, store) is not None  # type: ignore[arg-type]
            table.add_row(name, "서버 꺼짐", "-", "-", "-", "키 있음" if keyed else "키 없음")
        console.print(table)
        console.print("서버가 실행 중이 아니어서 설정만 표시합니다 (aegis serve).")
        return
    for s in rows:
        last = s.get("last_message") or s.get("last_message_us") or "-"
        table.add_row(str(s.get("name")), _STATE_KO.get(str(s.get("state")), str(s.get("state"))),
                      str(s.get("subscriptions", "-")), str(last), str(s.get("reconnects", 0)),
                      str(s.get("error") or ""))  # fmt: skip
    console.print(table)


def _live_status(settings: Settings) -> list[dict[str, Any]] | None:
    try:
        r = httpx.get(f"http://{settings.host}:{settings.port}/api/v1/system/status", timeout=2)
        body = r.json()
    except (httpx.HTTPError, ValueError):
        return None
    data = body.get("data", body) if isinstance(body, dict) else {}
    found = data.get("sources") if isinstance(data, dict) else None
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else None


@credentials_app.command("set")
def credentials_set(
    broker: Annotated[
        str, typer.Argument(help="kis | kiwoom | binance | naver (news: client id/secret)")
    ],
    paper: Annotated[bool, typer.Option(help="모의투자 (KIS·키움 모의투자 도메인)")] = False,
) -> None:
    """키를 입력받아 AES-256-GCM으로 암호화해 저장합니다 (입력은 화면에 표시되지 않음)."""
    if broker not in BROKERS:
        raise typer.BadParameter(f"broker must be one of {', '.join(BROKERS)}")
    key = typer.prompt("App key", hide_input=True)
    secret = typer.prompt("App secret", hide_input=True)
    store = CredentialStore.from_settings(Settings())
    try:
        store.set(
            broker, BrokerCredentials(SecretStr(key.strip()), SecretStr(secret.strip()), paper)
        )
    except AegisError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    console.print(f"{broker} 키를 암호화해 저장했습니다 ({store.data_dir / store.FILE}).")


@credentials_app.command("list")
def credentials_list() -> None:
    """키가 저장된 브로커 (값은 표시하지 않음)."""
    store = CredentialStore.from_settings(Settings())
    names = store.brokers()
    console.print(", ".join(names) if names else "저장된 키가 없습니다.")


def backfill(
    symbol: Annotated[str, typer.Option(help="종목코드, e.g. 005930")],
    from_: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD (krx: 생략하면 전체 이력)")
    ] = None,
    to: Annotated[str | None, typer.Option(help="YYYY-MM-DD (생략하면 오늘, KST)")] = None,
    source: Annotated[str, typer.Option(help="kis (키 필요) 또는 krx (키 없음)")] = "kis",
    original: Annotated[bool, typer.Option(help="원주가 (unadjusted prices, kis)")] = False,
) -> None:
    """과거 일봉을 채웁니다: kis는 KIS 일봉 차트(FHKST03010100), krx는 키 없이
    FinanceDataReader(네이버 일봉, 수정주가)로 전체 이력을 받습니다."""
    if source not in ("kis", "krx"):
        console.print(f"[red]{source}: 지원하는 백필 소스는 kis, krx 입니다.[/]")
        raise typer.Exit(2)
    try:
        start = None if from_ is None else date.fromisoformat(from_)
        end = kst_day(now_us()) if to is None else date.fromisoformat(to)
    except ValueError as exc:
        console.print(f"[red]날짜 형식이 잘못되었습니다 (YYYY-MM-DD): {exc}[/]")
        raise typer.Exit(2) from None
    try:
        if source == "krx":
            n = asyncio.run(_backfill_krx(Settings(), symbol, start, end))
        else:
            if start is None:
                console.print("[red]kis 백필에는 --from 이 필요합니다.[/]")
                raise typer.Exit(2)
            n = asyncio.run(_backfill(Settings(), symbol, start, end, not original))
    except AegisError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    console.print(f"{symbol}: 일봉 {n}개 저장 (source: backfill)")


async def _backfill_krx(settings: Settings, symbol: str, start: date | None, end: date) -> int:
    from aegis.cli.importing import open_store
    from aegis.history.krx import fetch_krx_daily

    with console.status(f"{symbol} 일봉 이력을 받는 중 …"):
        bars = await asyncio.to_thread(fetch_krx_daily, symbol, start, end)
    db = await open_store(settings)
    try:
        known = {i.symbol for i in await db.list_instruments()}
        if symbol not in known:
            raise AegisError(f"{symbol}: 종목 목록에 없는 코드입니다")
        await db.upsert_candles(b.to_candle(symbol, BACKFILL) for b in bars)
    finally:
        await db.close()
    return len(bars)


async def _backfill(settings: Settings, symbol: str, start: date, end: date, adjusted: bool
                    ) -> int:  # fmt: skip
    from aegis.cli.importing import open_store
    from aegis.sources.kis.source import open_kis_rest

    store = CredentialStore.from_settings(settings)
    creds = resolve(settings, "kis", store)
    if creds is None:
        raise AegisError("KIS 키가 없습니다: aegis credentials set kis")
    total_days = max(1, (end - start).days)
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.fields[rows]}행"), TimeElapsedColumn(),
                  console=console) as progress:  # fmt: skip
        task = progress.add_task(f"{symbol} 백필", total=total_days, rows=0)

        def on_page(rows: int, oldest: date) -> None:
            progress.update(task, completed=(end - max(oldest, start)).days, rows=rows)

        async with open_kis_rest(settings, creds, store) as rest:
            bars = await rest.daily_chart(symbol, start, end, adjusted=adjusted, progress=on_page)
        progress.update(task, completed=total_days, rows=len(bars))
    db = await open_store(settings)
    try:
        await db.upsert_candles(b.to_candle(symbol, BACKFILL) for b in bars)
    finally:
        await db.close()
    return len(bars)
